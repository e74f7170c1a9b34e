"""Fuzzed configuration: random [tool.release] tables (in pyproject.toml or release.toml) and
package paths (globs, symlinks, absolute, NUL) on a repository with packages, a broken one and
symlinks that lead out of it. Only `ConfigError`s and other `ReleaseError`s escape config
loading, `check` and bump planning, and nothing loaded lies outside the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from release.commands.status import run_check
from release.config import load
from release.errors import ReleaseError
from release.versions.plan import plan_change
from tests.helpers.fuzzing import PATHS, TOML_VALUES, dump_toml, fuzz
from tests.helpers.repos import write

PKG = '[project]\nname = "{name}"\nversion = "1.0.0"\n'


@pytest.fixture(scope="module")
def config_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Packages, a broken one, text files, and symlinks that lead out of the repository."""
    base = tmp_path_factory.mktemp("config-fuzz")
    outside = base / "outside"
    write(outside, {"pkg/pyproject.toml": PKG.format(name="evil"), "secret.txt": "1.0.0\n"},
          dedent=False)
    root = base / "repo"
    write(root, {
        "pkgs/a/pyproject.toml": PKG.format(name="a"),
        "pkgs/b/pyproject.toml": PKG.format(name="b")
        + '[project.optional-dependencies]\nx = ["a==1.0.0"]\n',
        "pkgs/c/pyproject.toml": 'project = "not a table"\n',
        "pkgs/d/pyproject.toml": '[project]\nname = "d"\ndynamic = "version"\n'
                                 "[tool]\nhatch = 3\n",
        "pkgs/e/pyproject.toml": '[project]\nname = "e"\nversion = "1.0.0"\n'
                                 "dependencies = 3\noptional-dependencies = []\n"
                                 "dependency-groups = 1\n",
        "docs/install.md": "pip install a==1.0.0\n",
        "addon/config.yaml": 'version: "2.0.0"\n',
        "bin.dat": "",
    }, dedent=False)
    (root / "bin.dat").write_bytes(b"\xff\xfe1.0.0\x00")
    (root / "link").symlink_to(outside / "pkg", target_is_directory=True)
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "docs" / "secret.txt").symlink_to(outside / "secret.txt")
    return root


SEARCHES = st.one_of(
    st.sampled_from(["pip install a=={version}", "{version}", 'version: "{version}"',
                     "a=={version}=={version}", "no placeholder", "{version", "{}", "{0}",
                     "{version}{train}", "\\{version}[", "(?P<x>{version})"]),
    st.text(max_size=12))
TEMPLATES = st.one_of(
    st.sampled_from(["{train}-v{version}", "v{version}", "{version}", "{train}", "{oops}",
                     "{version!r}", "{version:>{train}}", "{version[0]}", "{", "}", "{{version}}",
                     "{train.__class__}-{version}", "{major}.{minor}", "x/{version}/..",
                     "release/{train}-v{version}"]),
    st.text(max_size=12))

def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The right kind of value most of the time, any TOML value sometimes."""
    return st.one_of(value, value, value, TOML_VALUES)


OCCURRENCE = _maybe(st.fixed_dictionaries({}, optional={
    "path": _maybe(PATHS), "search": _maybe(SEARCHES), "train": _maybe(st.sampled_from(
        ["core", "addon", "ghost"])), "extra": TOML_VALUES}))
TRAIN = st.fixed_dictionaries({}, optional={
    "packages": _maybe(st.lists(PATHS, max_size=3)),
    "kind": _maybe(st.sampled_from(["python", "artifact", "rust"])),
    "tag-format": _maybe(TEMPLATES),
    "occurrences": _maybe(st.lists(OCCURRENCE, max_size=2)),
    "pins": _maybe(st.lists(OCCURRENCE, max_size=2)),
    "version": OCCURRENCE,
    "surprise": TOML_VALUES,
})
INDEX = st.fixed_dictionaries({}, optional={
    "upload-url": _maybe(st.sampled_from(["https://x.invalid/", "http://127.0.0.1:1/",
                                          "ftp://x", ""])),
    "simple-url": _maybe(st.sampled_from(["https://x.invalid/simple/", "http://x/simple"])),
    "token-env": _maybe(st.sampled_from(["TOKEN", ""])),
    "production": _maybe(st.booleans()),
    "allow-prereleases": _maybe(st.booleans()),
})
RELEASE_TABLE = st.fixed_dictionaries({}, optional={
    "trains": _maybe(st.dictionaries(st.sampled_from(["core", "addon", "ext", "", "a.b", "ü"]),
                                     TRAIN, max_size=3)),
    "tag-format": _maybe(TEMPLATES),
    "commit-message": _maybe(TEMPLATES),
    "branches": _maybe(st.lists(st.text(max_size=6), max_size=2)),
    "pythons": _maybe(st.lists(st.sampled_from(["3.11", "3.12", "x"]), max_size=2)),
    "optional-pythons": _maybe(st.lists(st.text(max_size=4), max_size=2)),
    "platforms": _maybe(st.lists(st.text(max_size=6), max_size=2)),
    "max-file-size": _maybe(st.integers(-5, 2**70)),
    "indexes": _maybe(st.dictionaries(st.sampled_from(["pypi", "testpypi", "mine"]), INDEX,
                                      max_size=2)),
    "branch-model": _maybe(st.fixed_dictionaries({}, optional={
        "main": _maybe(st.text(max_size=5)), "rc": _maybe(st.text(max_size=5)),
        "version-branch": _maybe(TEMPLATES), "release-branch": _maybe(TEMPLATES)})),
    "unknown-key": TOML_VALUES,
})


# Tables that get past the structure checks more often, so that paths and package files are
# what is tried: any of the packages, globs and symlinks above, in one or two trains.
GOOD_PATHS = st.one_of(
    st.sampled_from(["pkgs/a", "pkgs/b", "pkgs/a/", "./pkgs/b"]),
    st.sampled_from(["pkgs/c", "pkgs/d", "pkgs/e", "pkgs/*", "link", "escape/pkg", "*/*", "e*/*",
                     "pkgs/../link", "**"]))
PATH_TABLES = st.fixed_dictionaries({"trains": st.dictionaries(
    st.sampled_from(["core", "other"]), st.fixed_dictionaries(
        {"packages": st.lists(GOOD_PATHS, min_size=1, max_size=2, unique=True)},
        optional={"occurrences": st.lists(st.fixed_dictionaries(
            {"path": st.sampled_from(["docs/install.md", "docs/secret.txt", "bin.dat", "docs",
                               "addon/config.yaml", "escape/secret.txt", "link/pyproject.toml"]),
             "search": SEARCHES}), max_size=1)}),
    min_size=1, max_size=2)})


@fuzz
@given(RELEASE_TABLE, st.booleans())
def test_any_config_table_loads_or_is_refused_with_a_config_error(
        config_repo: Path, table: dict[str, Any], in_release_toml: bool) -> None:
    _load_check_and_plan(config_repo, table, in_release_toml)


@fuzz
@given(PATH_TABLES, st.booleans())
@example({"trains": {"core": {"packages": ["pkgs/c"]}}}, False)  # [project] not a table
@example({"trains": {"core": {"packages": ["e*/*"]}}}, False)  # a glob through a symlink
@example({"trains": {"core": {"packages": ["pkgs/d"]}}}, True)  # tool.hatch not a table
@example({"trains": {"core": {"packages": ["pkgs/e"]}}}, True)  # lists and tables swapped
def test_any_package_path_stays_inside_the_repository_or_is_refused(
        config_repo: Path, table: dict[str, Any], in_release_toml: bool) -> None:
    _load_check_and_plan(config_repo, table, in_release_toml)


def _load_check_and_plan(config_repo: Path, table: dict[str, Any],
                         in_release_toml: bool) -> None:
    """config.load, then check and bump planning: only ReleaseErrors, nothing outside."""
    text = dump_toml(table if in_release_toml else {"tool": {"release": table}})
    if text is None:
        return
    pyproject, release_toml = config_repo / "pyproject.toml", config_repo / "release.toml"
    pyproject.unlink(missing_ok=True)
    release_toml.unlink(missing_ok=True)
    (release_toml if in_release_toml else pyproject).write_text(text, encoding="utf-8")
    try:
        config = load(config_repo)
    except ReleaseError as exc:
        assert str(exc).strip(), "an error without a message"
        event("refused")
        return
    event("loaded")
    # What loaded is inside the repository, and the other entry points hold up too.
    for train in config.trains.values():
        for pkg in train.packages:
            assert (config_repo / pkg.path).resolve().is_relative_to(config_repo.resolve())
        for occ in (*train.occurrences, *(p.occurrence for p in train.pins)):
            assert (config_repo / occ.path).resolve().is_relative_to(config_repo.resolve())
    try:
        run_check(config_repo)
    except ReleaseError:
        pass
    for train in config.trains.values():
        try:
            plan_change(config, train, part="minor")
        except ReleaseError:
            pass


