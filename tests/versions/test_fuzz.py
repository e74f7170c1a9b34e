"""Fuzzed inputs: versions in every PEP 440 form, random config tables, odd pyproject files.

What must hold for any input: only `ReleaseError`s escape the public entry points (config
loading, bump planning, `check`), so no traceback reaches the user; every bump is valid and
greater; a version written back keeps the repository's style; and every write leaves each byte
it does not change as it was.

The default profile keeps the suite fast (CI); `nox -s fuzz` runs the deep one
(HYPOTHESIS_PROFILE=deep) with many more examples.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from release.commands.status import run_check
from release.config import load
from release.errors import ReleaseError, VersionError
from release.versions.agreement import problems
from release.versions.pep440 import PARTS, bump, format_version, parse
from release.versions.plan import apply_plan, plan_change
from release.versions.scan import scan

# How many examples each property gets: few in the suite, many in `nox -s fuzz`.
EXAMPLES = {"default": 150, "deep": 3000}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
for _name, _count in EXAMPLES.items():
    settings.register_profile(
        f"release-{_name}", max_examples=_count, deadline=None,
        # CI sees the same examples every run; the deep run explores.
        derandomize=_name == "default",
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture])
fuzz = settings.get_profile(f"release-{PROFILE if PROFILE in EXAMPLES else 'default'}")


# --- versions --------------------------------------------------------------------------------

def _cased(words: list[str]) -> st.SearchStrategy[str]:
    """A spelling in any letter case (PEP 440 is case-insensitive)."""
    return st.tuples(st.sampled_from(words), st.randoms(use_true_random=False)).map(
        lambda pair: "".join(c.upper() if pair[1].random() < 0.3 else c for c in pair[0]))


SEP = st.sampled_from(["", ".", "-", "_"])
NUMBER = st.one_of(st.integers(0, 30).map(str), st.integers(0, 10**9).map(str),
                   st.from_regex(r"0[0-9]{1,2}", fullmatch=True))  # leading zeros too


@st.composite
def _numbered(draw: st.DrawFn, words: list[str], implicit_ok: bool = True) -> str:
    """`<sep><word>[<sep2><n>]`: the number may be implicit (`1.0a` is `1.0a0`)."""
    text = draw(SEP) + draw(_cased(words))
    if implicit_ok and draw(st.booleans()):
        return text
    return text + draw(SEP) + draw(NUMBER)


@st.composite
def version_texts(draw: st.DrawFn, padded: bool = True) -> str:
    """Any valid PEP 440 version, written in any of the spellings PEP 440 accepts (with
    surrounding whitespace too, unless `padded` is false)."""
    text = draw(st.sampled_from(["", "", "v", "V"]))
    if draw(st.integers(0, 5)) == 0:
        text += draw(NUMBER) + "!"
    text += ".".join(draw(st.lists(NUMBER, min_size=1, max_size=5)))
    if draw(st.booleans()):
        text += draw(_numbered(["a", "alpha", "b", "beta", "c", "rc", "pre", "preview"]))
    post = draw(st.integers(0, 3))
    if post == 1:
        text += "-" + draw(NUMBER)  # the implicit post release: 1.0-1
    elif post == 2:
        text += draw(_numbered(["post", "rev", "r"]))
    if draw(st.booleans()):
        text += draw(_numbered(["dev"]))
    if draw(st.integers(0, 4)) == 0:
        segments = draw(st.lists(st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True),
                                 min_size=1, max_size=3))
        text += "+" + "".join(s + draw(st.sampled_from([".", "-", "_"])) for s in segments[:-1])
        text += segments[-1]
    if padded and draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from([" ", "\t", "\n"])) + text + draw(st.sampled_from(["", " "]))
    return text


PART = st.sampled_from(PARTS)


@fuzz
@given(version_texts())
@example(" 0!0+0")  # an explicit zero epoch is kept
@example("0!0A0-00+0")  # so are leading zeros of pre, post and dev numbers
def test_every_written_form_parses_as_packaging_reads_it_and_keeps_its_style(text: str) -> None:
    written = parse(text)
    assert written.version == Version(text)
    assert written.text == text.strip()
    assert format_version(written.version, written.style) == text.strip()


@fuzz
@given(version_texts(), PART)
def test_every_bump_is_valid_greater_and_written_in_the_same_style(text: str, part: str) -> None:
    current = parse(text)
    try:
        new = bump(current, part)
    except VersionError:
        return  # e.g. --part post of an rc: refused with a message
    assert new.version > current.version
    assert Version(new.text) == new.version
    again = parse(new.text)
    assert again.version == new.version
    assert format_version(again.version, again.style) == new.text
    assert new.text.startswith(current.style.prefix)


@fuzz
@given(version_texts(), version_texts())
def test_to_is_greater_or_refused(text: str, target: str) -> None:
    current = parse(text)
    try:
        new = bump(current, to=target)
    except VersionError as exc:
        if Version(target).local:  # a local version is never a release
            assert "is a local version" in str(exc)
            return
        assert "not greater" in str(exc)
        assert Version(target) <= current.version
        return
    assert new.version == Version(target) > current.version
    assert Version(new.text) == new.version


@fuzz
@given(st.text(max_size=40), st.one_of(PART, st.text(max_size=8)), st.text(max_size=20))
def test_garbage_is_refused_with_a_version_error(text: str, part: str, to: str) -> None:
    try:
        current = parse(text)
    except VersionError:
        return
    for kwargs in ({"part": part}, {"to": to}):
        try:
            bump(current, **kwargs)
        except VersionError:
            pass


# --- config tables ---------------------------------------------------------------------------

PKG = '[project]\nname = "{name}"\nversion = "1.0.0"\n'


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@contextmanager
def _scratch() -> Iterator[Path]:
    """A directory of our own per example (hypothesis reuses function-scoped fixtures)."""
    path = Path(tempfile.mkdtemp(prefix="rt-fuzz-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def config_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Packages, a broken one, text files, and symlinks that lead out of the repository."""
    base = tmp_path_factory.mktemp("config-fuzz")
    outside = base / "outside"
    _write(outside, {"pkg/pyproject.toml": PKG.format(name="evil"), "secret.txt": "1.0.0\n"})
    root = base / "repo"
    _write(root, {
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
    })
    (root / "bin.dat").write_bytes(b"\xff\xfe1.0.0\x00")
    (root / "link").symlink_to(outside / "pkg", target_is_directory=True)
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "docs" / "secret.txt").symlink_to(outside / "secret.txt")
    return root


PATHS = st.one_of(
    st.sampled_from([
        "pkgs/*", "pkgs/a", "pkgs/b", "pkgs/c", "pkgs/d", "pkgs/e", "pkgs/a/", "./pkgs/a",
        "pkgs/*/", "*/*", "*", "**", "**/*", ".", "", "..", "../outside", "/etc", "/",
        "pkgs/../../outside", "link", "link/", "escape/pkg", "escape/*", "e*/*", "[", "pkgs/[ab]",
        "pkgs/a\x00", "docs/install.md", "docs/secret.txt", "docs", "addon/config.yaml",
        "bin.dat", "ü/ñ", "a" * 300, "pkgs//a", "~/x", "pkgs/a/pyproject.toml"]),
    st.text(max_size=12))
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

TOML_LEAVES: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=10), st.integers(-(2**63), 2**63 - 1), st.booleans(),
    st.floats(allow_nan=False), st.dates(), st.datetimes(), PATHS)
TOML_VALUES: st.SearchStrategy[Any] = st.recursive(
    TOML_LEAVES,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3),
    max_leaves=8)


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


def _dump(document: dict[str, Any]) -> str | None:
    try:
        return tomlkit.dumps(document)
    except Exception:  # noqa: BLE001 - a value TOML cannot hold: not an input anyone can write
        return None


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
    text = _dump(table if in_release_toml else {"tool": {"release": table}})
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


# --- pyproject files: odd but valid TOML, and every write keeps what it does not change -------

@dataclass(frozen=True)
class Layout:
    """Two packages (alpha carries the version, beta pins it) written in a random style."""

    files: dict[str, str]  # path -> text: {V} where the version goes, {O} what stays old
    newline: str

    def render(self, version: str, old: str) -> dict[str, str]:
        return {path: text.replace("{V}", version).replace("{O}", old)
                .replace("\n", self.newline) for path, text in self.files.items()}


WS = st.sampled_from(["", " ", "  ", "\t"])
COMMENT = st.sampled_from(["", "  # a comment", " #", "\t# version = \"9.9\"", "# ünïcode"])


@st.composite
def _string(draw: st.DrawFn, value: str) -> str:
    quote = draw(st.sampled_from(['"', "'", '"""', "'''"]))
    return f"{quote}{value}{quote}"


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    line = lambda key, value: (  # noqa: E731 - a local shorthand
        f"{draw(WS)}{key}{draw(WS)}={draw(WS)}{value}{draw(COMMENT)}\n")
    dynamic = draw(st.booleans())
    head = draw(st.sampled_from(["", "# alpha's build config\n", "\n\n", "#!\n# -*- x -*-\n"]))
    project = head + f"[project]{draw(COMMENT)}\n" + line("name", draw(_string("alpha")))
    if dynamic:
        project += line("dynamic", '["version"]')
    else:
        project += line("version", draw(_string("{V}")))
    project += draw(st.sampled_from([
        "", line("urls", '{ home = "https://x.invalid", "odd key" = "y" }'),
        line("authors", '[{ name = "A", email = "a@x.invalid" }, {name="B"}]'),
        'keywords = [\n  "a",  # one\n  "b",\n]\n', line("description", "'''multi\nline'''"),
    ]))
    build = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    tables = [project, build]
    if dynamic:
        tables.append("[tool.hatch.version]\n" + line("path", '"src/alpha/__init__.py"'))
    tables.append(draw(st.sampled_from(["", "[tool.other]\nx = 1\n[tool.other.sub]\ny = [1,2]\n",
                                        "[[tool.list]]\na = 1\n[[tool.list]]\na = 2\n"])))
    order = draw(st.permutations(tables[1:]))
    alpha = "".join([tables[0], *order]) if draw(st.booleans()) else \
        "".join([*order, tables[0]])
    dunder = draw(st.sampled_from(['__version__ = "{V}"\n', "__version__ = '{V}'\n",
                                   '"""Alpha."""\n\n__version__: str = "{V}"  # kept\n',
                                   'X = 1\n__version__  =  "{V}"\nY = "{O}x"\n',
                                   # a page break and a line separator are not line ends here
                                   '"""A.\u2028B."""\n\x0c\n__version__ = "{V}"\n']))
    pin_ws = draw(st.sampled_from(["", " "]))
    pin = draw(_string(f"alpha{pin_ws}=={pin_ws}{{V}}")).replace("'''", '"""')
    beta = ("[project]\nname = 'beta'\nversion = \"7.0\"\n"
            + draw(st.sampled_from([
                f"dependencies = [{pin}]\n",
                f"dependencies = [\n    {pin},  # pinned\n    \"other>=1\",\n]\n",
                f"[project.optional-dependencies]\nx = [{pin}]\n",
            ]))
            + draw(st.sampled_from(["", f"[dependency-groups]\ndev = [{pin}, {{include-group = "
                                        '"y"}]\ny = []\n'])))
    files = {"alpha/pyproject.toml": alpha, "alpha/src/alpha/__init__.py": dunder,
             "beta/pyproject.toml": beta}
    if draw(st.booleans()):
        files["alpha/VERSION"] = draw(st.sampled_from(["{V}\n", "{V}", "  {V}  \n\n"]))
    files["pyproject.toml"] = ('[tool.release]\n[tool.release.trains.a]\npackages = ["alpha"]\n'
                               '[tool.release.trains.b]\npackages = ["beta"]\n')
    return Layout(files, draw(st.sampled_from(["\n", "\n", "\r\n"])))


# As a file holds them: no surrounding whitespace.
PLAIN_VERSIONS = version_texts(padded=False)


@fuzz
@given(layouts(), PLAIN_VERSIONS, st.one_of(PART, PLAIN_VERSIONS.map(lambda v: "to:" + v)))
@example(Layout({  # CRLF files keep their line endings
    "alpha/pyproject.toml": '[project]\nname="alpha"\nversion="{V}"\n',
    "alpha/src/alpha/__init__.py": 'X = 1\n__version__  =  "{V}"\nY = "{O}x"\n',
    "beta/pyproject.toml": "[project]\nname = 'beta'\nversion = \"7.0\"\n"
                           'dependencies = ["alpha=={V}"]\n',
    "pyproject.toml": '[tool.release.trains.a]\npackages = ["alpha"]\n'
                      '[tool.release.trains.b]\npackages = ["beta"]\n'}, "\r\n"), "0+0", "major")
def test_a_bump_changes_exactly_the_version_bytes(layout: Layout, old: str, how: str) -> None:
    with _scratch() as root:
        before = layout.render(old, old)
        _write(root, before)
        for path, text in before.items():
            (root / path).write_bytes(text.encode())
        try:
            config = load(root)
            assert not problems(config, scan(config))
            part, to = (None, how[3:]) if how.startswith("to:") else (how, None)
            plan = plan_change(config, config.train("a"), to, part=part)
        except VersionError as exc:  # the part or --to makes no sense: the only refusal
            event(f"refused: {type(exc).__name__}")
            return
        event("bumped and written")
        expected = layout.render(plan.new.text, old)
        planned = {str(e.path): e.new for e in plan.edits}
        changed = {p for p in before if before[p] != expected[p]}
        assert set(planned) == changed
        for path, text in planned.items():
            assert text == expected[path], path
        apply_plan(config, plan)
        for path, text in expected.items():
            assert (root / path).read_bytes() == text.encode(), path
        after = load(root)
        assert not problems(after, scan(after))


REQUIREMENTS = st.one_of(
    st.sampled_from(["alpha==1.0", "alpha == 1.0", "alpha==1.0.*", "alpha===1.0", "alpha>=1.0",
                     "alpha<1", "alpha~=1.0", "alpha!=1.0", "alpha[x]==1.0; python_version>'3'",
                     "alpha @ https://x.invalid/a.whl", "alpha==v1.0", "alpha==1.0+local",
                     "alpha", "beta==1.0", "not a requirement", "", "alpha==", "alpha==1.0,<2"]),
    TOML_VALUES)


def _sometimes(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, value, TOML_VALUES)


PACKAGE_TABLES = st.fixed_dictionaries({}, optional={
    "project": _sometimes(st.fixed_dictionaries({"name": _sometimes(st.just("alpha"))}, optional={
        "version": _sometimes(st.sampled_from(["1.0", "v1.0", "1.0rc1", "one", ""])),
        "dynamic": _sometimes(st.sampled_from([["version"], "version", [], ["readme"]])),
        "dependencies": _sometimes(st.lists(REQUIREMENTS, max_size=3)),
        "optional-dependencies": _sometimes(st.dictionaries(
            st.text(min_size=1, max_size=4), _sometimes(st.lists(REQUIREMENTS, max_size=2)),
            max_size=2)),
    })),
    "dependency-groups": _sometimes(st.dictionaries(
        st.text(min_size=1, max_size=4), _sometimes(st.lists(_sometimes(st.one_of(
            REQUIREMENTS, st.just({"include-group": "x"}))), max_size=2)), max_size=2)),
    "tool": _sometimes(st.fixed_dictionaries({}, optional={
        "hatch": _sometimes(st.fixed_dictionaries({}, optional={"version": _sometimes(
            st.fixed_dictionaries({}, optional={"path": _sometimes(st.sampled_from(
                ["src/alpha/__init__.py", "VERSION", "../x.py", "/etc/passwd", "nope.py",
                 "src", "src/alpha/__init__.py\x00"]))}))})),
        "setuptools": _sometimes(st.fixed_dictionaries({}, optional={
            "dynamic": _sometimes(st.fixed_dictionaries({}, optional={"version": _sometimes(
                st.fixed_dictionaries({}, optional={
                    "attr": _sometimes(st.sampled_from(["alpha.__version__", "alpha", ".x",
                                                        "alpha..v", "nope.v"])),
                    "file": _sometimes(st.sampled_from(["VERSION", "nope", "../x"]))}))})),
            "package-dir": _sometimes(st.sampled_from([{"": "src"}, {"": "."}, {}]))})),
    })),
})
PACKAGE_FILES = {
    "pyproject.toml": '[tool.release.trains.a]\npackages = ["alpha"]\n'
                      '[tool.release.trains.b]\npackages = ["beta"]\n',
    "beta/pyproject.toml": '[project]\nname = "beta"\nversion = "2.0"\n'
                           'dependencies = ["alpha==1.0"]\n',
    "alpha/src/alpha/__init__.py": '__version__ = "1.0"\n',
    "alpha/VERSION": "1.0\n",
}


@fuzz
@given(PACKAGE_TABLES, st.sampled_from(["alpha/pyproject.toml", "beta/pyproject.toml"]),
       st.one_of(st.none(), st.text(max_size=60)),
       st.sampled_from(["alpha/VERSION", "alpha/src/alpha/__init__.py"]))
def test_any_package_file_is_read_or_refused_with_a_release_error(
        table: dict[str, Any], target: str, other_text: str | None, other: str) -> None:
    text = _dump(table)
    if text is None:
        return
    with _scratch() as root:
        _write(root, {**PACKAGE_FILES, target: text,
                      **({other: other_text} if other_text is not None else {})})
        for entry in (lambda: load(root), lambda: run_check(root),
                      lambda: plan_change(load(root), load(root).train("a"), part="patch")):
            try:
                entry()
            except ReleaseError as exc:
                assert str(exc).strip()
