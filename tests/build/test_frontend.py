"""`nox -s build` on scratch copies of the example: real builds, real git, no mocks.

The whole example is built once per session (with a hostile user configuration in the
environment, a fresh build-environment cache and an uncommitted edit in the work tree) and
many things are asserted about that one build; the refusals each build one train at a ref.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import dataclass, replace
from email.parser import HeaderParser
from pathlib import Path

import pytest

from release.build.manifest import Manifest, read_metadata
from release.config import load
from release.errors import BuildError
from release.versions.agreement import train_version
from release.versions.scan import scan
from tests.helpers.commands import nox_build
from tests.helpers.dists import members
from tests.helpers.repos import BIN, ROOT, copy_example, env, git, init_repo

# Every test here is end to end (and runs on one xdist worker: tests/conftest.py ONE_WORKER).
pytestmark = pytest.mark.slow

MARKER = "UNCOMMITTED-EDIT-MUST-NOT-SHIP"
SETUPTOOLS = {"skyline-streaming", "skyline-ext-ai", "skyline-ext-streaming",
              "skyline-ext-vision"}


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("error:")]


@dataclass(frozen=True)
class Built:
    repo: Path
    proc: subprocess.CompletedProcess[str]
    status_before: str
    cache: Path
    envs: list[Path]  # the build environments in the cache right after the build


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The whole example built once, with a tracked file edited but not committed, a user
    configuration that would break any build that honoured it, and a cache of its own (other
    builds in this process may have filled the shared one)."""
    cache = tmp_path_factory.mktemp("fresh-build-cache")
    repo = copy_example(tmp_path_factory.mktemp("built") / "repo")
    init = repo / "packages" / "skyline-core" / "src" / "skyline_core" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8") + f"\n# {MARKER}\n", encoding="utf-8")
    readme = repo / "extensions" / "skyline-ext-ai" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + f"\n{MARKER}\n", encoding="utf-8")
    config_home = tmp_path_factory.mktemp("hostile-config")
    dead = "http://127.0.0.1:9/simple"
    (config_home / "uv").mkdir()
    (config_home / "uv" / "uv.toml").write_text(f'index-url = "{dead}"\n', encoding="utf-8")
    (config_home / "pip").mkdir()
    (config_home / "pip" / "pip.conf").write_text(f"[global]\nindex-url = {dead}\n",
                                                  encoding="utf-8")
    status = git(repo, "status", "--porcelain")
    proc = nox_build(repo, cache=cache, XDG_CONFIG_HOME=str(config_home), UV_INDEX_URL=dead,
                     UV_DEFAULT_INDEX=dead, PIP_INDEX_URL=dead, UV_OFFLINE="1",
                     PIP_FIND_LINKS="/nonexistent", SETUPTOOLS_SCM_PRETEND_VERSION="9.9.9")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Built(repo, proc, status, cache, sorted((cache / "build-envs").iterdir()))


def manifests(repo: Path, out: str = "dist") -> dict[str, Manifest]:
    return {m.train: m for m in map(Manifest.load, sorted((repo / out).glob("*/manifest.json")))}


def test_every_package_of_every_python_train_has_an_sdist_and_a_wheel(built: Built) -> None:
    config = load(built.repo)
    found = manifests(built.repo)
    assert set(found) == {"core", "extensions"}  # the artifact train has nothing to build
    head = git(built.repo, "rev-parse", "HEAD")
    for name, manifest in found.items():
        train = config.train(name)
        assert manifest.version == str(train_version(scan(config), train))
        assert manifest.commit == head
        assert manifest.directory == built.repo / "dist" / f"{name}-{manifest.version}"
        kinds = {(a.package, a.kind) for a in manifest.artifacts}
        assert kinds == {(p.name, k) for p in train.packages for k in ("sdist", "wheel")}
        assert sorted(p.name for p in manifest.directory.iterdir()) == sorted(
            [a.filename for a in manifest.artifacts] + ["manifest.json"])


def test_manifest_sizes_and_sha256_are_those_of_the_files(built: Built) -> None:
    for manifest in manifests(built.repo).values():
        for artifact in manifest.artifacts:
            data = (manifest.directory / artifact.filename).read_bytes()
            assert artifact.size == len(data)
            assert artifact.sha256 == hashlib.sha256(data).hexdigest()
            assert artifact.seconds >= 0 and artifact.build_requires
        manifest.verify()


def test_metadata_inside_each_file_carries_the_train_version(built: Built) -> None:
    for manifest in manifests(built.repo).values():
        for artifact in manifest.artifacts:
            path = manifest.directory / artifact.filename
            wanted = "METADATA" if artifact.kind == "wheel" else "PKG-INFO"
            [text] = [v.decode() for k, v in members(path).items()
                      if k.count("/") == 1 and k.endswith(wanted)]
            meta = HeaderParser().parsestr(text)
            assert meta["Version"] == manifest.version == artifact.version
            assert read_metadata(path) == (meta["Name"], manifest.version)


def test_an_uncommitted_edit_does_not_reach_any_file(built: Built) -> None:
    for manifest in manifests(built.repo).values():
        for path in manifest.files():
            assert not any(MARKER.encode() in data for data in members(path).values()), path
    assert MARKER in (built.repo / "extensions/skyline-ext-ai/README.md").read_text()


def test_the_repository_is_left_as_it_was(built: Built) -> None:
    assert git(built.repo, "status", "--porcelain") == built.status_before
    assert len(git(built.repo, "worktree", "list").splitlines()) == 1
    assert [p.name for p in (built.repo / "dist").iterdir() if p.name.startswith(".")] == []


def test_progress_lines_count_every_package(built: Built) -> None:
    lines = re.findall(r"^\[(\d+)/(\d+)\] (\S+) \((\d+\.\d) s\)$", built.proc.stderr, re.M)
    assert [int(k) for k, *_ in lines] == list(range(1, 15))
    assert {n for _, n, *_ in lines} == {"14"}


def test_setuptools_wheels_hold_only_their_own_modules(built: Built) -> None:
    """Many projects share one interpreter: nothing of one may leak into another."""
    for manifest in manifests(built.repo).values():
        for artifact in manifest.artifacts:
            if artifact.kind != "wheel":
                continue
            tops = {n.split("/")[0] for n in members(manifest.directory / artifact.filename)}
            module = artifact.package.replace("-", "_")
            assert tops == {module, f"{module}-{artifact.version}.dist-info"}, artifact.filename
            assert (artifact.backend == "setuptools.build_meta") == (artifact.package in
                                                                     SETUPTOOLS)


def test_user_configuration_is_ignored_and_the_cache_is_reused(built: Built) -> None:
    assert len(built.envs) == 2  # one per distinct build-system.requires, made from PyPI
    again = nox_build(built.repo, "--train", "core", "--out", str(built.repo / "again"),
                      cache=built.cache)
    assert again.returncode == 0, again.stderr
    assert sorted((built.cache / "build-envs").iterdir()) == built.envs
    first, second = (Manifest.load(d / "core-0.4.2") for d in (built.repo / "dist",
                                                              built.repo / "again"))
    wheels = {a.filename: a.sha256 for a in first.artifacts if a.kind == "wheel"}
    assert wheels == {a.filename: a.sha256 for a in second.artifacts if a.kind == "wheel"}


def test_manifest_round_trips_and_detects_a_changed_file(built: Built, tmp_path: Path) -> None:
    manifest = manifests(built.repo)["core"]
    loaded = Manifest.load(manifest.path)
    assert loaded == manifest
    copy = replace(manifest, directory=tmp_path)
    copy.write()
    for artifact in manifest.artifacts:
        (tmp_path / artifact.filename).write_bytes((manifest.directory / artifact.filename)
                                                   .read_bytes())
    Manifest.load(tmp_path).verify()
    victim = tmp_path / manifest.artifacts[0].filename
    victim.write_bytes(victim.read_bytes() + b"\0")
    with pytest.raises(BuildError, match="changed since it was built"):
        Manifest.load(tmp_path).verify()
    assert json.loads(copy.path.read_text())["files"][0]["sha256"] == manifest.artifacts[0].sha256


def test_reproducible_build_names_no_hatchling_file(built: Built) -> None:
    proc = nox_build(built.repo, "--reproducible", "--out", str(built.repo / "twice"),
                     cache=built.cache)
    errors = error_lines(proc)
    if proc.returncode == 0:
        assert all(m.reproducible for m in manifests(built.repo, "twice").values())
        return
    assert len(errors) == 1 and "not reproducible" in errors[0], proc.stderr
    # Each differing file is named with what differs in it, then the fix for its backend.
    named = re.findall(r"(?:: |; )(\S+\.(?:tar\.gz|whl)) \(", errors[0])
    setuptools_sdists = {f"{p.replace('-', '_')}-" for p in SETUPTOOLS}
    assert named and all(any(n.startswith(s) and n.endswith(".tar.gz")
                             for s in setuptools_sdists) for n in named), named
    # Two builds in the same second share a gzip header time; member mtimes still differ.
    assert re.search(re.escape(named[0]) + r" \((the gzip header time|tar member mtimes) \(",
                     errors[0]), errors[0]
    assert "; fix (setuptools): setuptools ignores SOURCE_DATE_EPOCH in sdists" in errors[0]
    assert not (built.repo / "twice" / "core-0.4.2").exists()


# --- refusals: one scratch repository, one branch per broken commit ------------------------

@pytest.fixture(scope="session")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_example(tmp_path_factory.mktemp("broken") / "repo")
    git(repo, "tag", "good")

    def branch(name: str, edit: dict[str, tuple[str, str]]) -> None:
        git(repo, "checkout", "-q", "-b", name, "good")
        for rel, (old, new) in edit.items():
            path = repo / rel
            text = path.read_text(encoding="utf-8")
            assert old in text, (rel, old)
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
        git(repo, "commit", "-q", "-am", name)

    models = "extensions/skyline-ext-models/pyproject.toml"
    branch("mismatch", {models: ('version = "1.2.0"', 'version = "1.2.1"')})
    branch("tiny-limit", {"pyproject.toml": ("[tool.release]\n", "[tool.release]\n"
                                             "max-file-size = 64\n")})
    (repo / "extensions/skyline-ext-models/README.rst").write_text(
        "Title\n=====\n\n`unclosed interpreted text\n", encoding="utf-8")
    git(repo, "add", "extensions/skyline-ext-models/README.rst")
    branch("bad-readme", {models: ('readme = "README.md"', 'readme = "README.rst"')})
    git(repo, "checkout", "-q", "mismatch")  # HEAD is broken; tests choose a --ref
    return repo


def test_a_file_whose_metadata_version_differs_from_the_train_is_refused(
        broken: Path, cache: Path) -> None:
    proc = nox_build(broken, "--train", "extensions", "--out", str(broken / "mismatch"),
                     cache=cache)
    assert proc.returncode != 0
    [line] = error_lines(proc)
    assert "skyline_ext_models-1.2.1" in line and "train extensions is at 1.2.0" in line
    assert list((broken / "mismatch").iterdir()) == []


def test_ref_selects_the_commit_built(broken: Path, cache: Path) -> None:
    proc = nox_build(broken, "--train", "extensions", "--ref", "good", cache=cache)
    assert proc.returncode == 0, proc.stderr
    manifest = Manifest.load(broken / "dist" / "extensions-1.2.0")
    assert manifest.commit == git(broken, "rev-parse", "good")
    assert {a.version for a in manifest.artifacts} == {"1.2.0"}


def test_a_file_over_max_file_size_is_refused(broken: Path, cache: Path) -> None:
    proc = nox_build(broken, "--train", "core", "--ref", "tiny-limit", "--out",
                     str(broken / "limit"), cache=cache)
    assert proc.returncode != 0
    [line] = error_lines(proc)
    assert re.search(r"is \d+ bytes, over the 64-byte limit \(max-file-size\)", line), line
    assert not (broken / "limit" / "core-0.4.2").exists()


def test_twine_check_strict_rejections_are_refused(broken: Path, cache: Path) -> None:
    proc = nox_build(broken, "--train", "extensions", "--ref", "bad-readme", "--out",
                     str(broken / "rst"), cache=cache)
    assert proc.returncode != 0
    [line] = error_lines(proc)
    assert "twine check --strict rejected" in line and "skyline_ext_models-1.2.0" in line
    assert not (broken / "rst" / "extensions-1.2.0").exists()


def test_artifact_trains_and_unknown_refs_are_refused_in_one_line(broken: Path,
                                                                 cache: Path) -> None:
    proc = nox_build(broken, "--train", "addon", cache=cache)
    assert error_lines(proc) == ["error: train 'addon' is an artifact train: it has nothing "
                                 "to build"]
    proc = nox_build(broken, "--ref", "no-such-ref", cache=cache)
    [line] = error_lines(proc)
    assert "'no-such-ref' is not a commit" in line


def test_nox_lists_the_build_session() -> None:
    out = subprocess.run([str(BIN / "nox"), "-l"], cwd=ROOT, env=env(), capture_output=True,
                         text=True, check=True).stdout
    assert re.search(r"^[*-] build -> \S.+sha256", out, re.M), out


IN_TREE_BACKEND = '''\
"""Wraps hatchling, asking for more at each step: the builder must install what is asked."""
from hatchling.build import build_sdist as _sdist, build_wheel as _wheel


def get_requires_for_build_sdist(config_settings=None):
    return ["tomli-w>=1"]


def get_requires_for_build_wheel(config_settings=None):
    return ["tomli-w>=1", "iniconfig"]


def build_sdist(sdist_directory, config_settings=None):
    import tomli_w  # noqa: F401 - fails unless the environment got what was asked

    return _sdist(sdist_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import iniconfig  # noqa: F401
    import tomli_w  # noqa: F401

    return _wheel(wheel_directory, config_settings, metadata_directory)
'''


def test_in_tree_backend_gets_what_it_asks_for(tmp_path: Path, cache: Path) -> None:
    """backend-path and get_requires_for_build_*: a third environment, made on request."""
    repo = tmp_path / "solo"
    files = {
        "pyproject.toml": '[tool.release.trains.solo]\npackages = ["pkg"]\n',
        "pkg/pyproject.toml": (
            '[project]\nname = "rt-solo"\nversion = "2.0.0"\ndescription = "solo"\n'
            'requires-python = ">=3.8"\nreadme = "README.md"\n'
            '[build-system]\nrequires = ["hatchling"]\n'
            'build-backend = "solo_backend"\nbackend-path = ["_build"]\n'),
        "pkg/README.md": "# solo\n",
        "pkg/_build/solo_backend.py": IN_TREE_BACKEND,
        "pkg/src/rt_solo/__init__.py": "",
    }
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    init_repo(repo)
    proc = nox_build(repo, cache=cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = Manifest.load(repo / "dist" / "solo-2.0.0")
    assert [a.filename for a in manifest.artifacts] == ["rt_solo-2.0.0.tar.gz",
                                                        "rt_solo-2.0.0-py3-none-any.whl"]
    for artifact in manifest.artifacts:
        assert {"iniconfig", "tomli-w"} <= {r.split("==")[0] for r in artifact.build_requires}


def test_no_source_of_release_train_is_ignored_by_git() -> None:
    """hatchling leaves out of the wheel and sdist whatever .gitignore matches: a pattern that
    catches a subpackage (`build/` once hid release/build/) ships a release-train without it."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    sources = [str(p.relative_to(ROOT)) for p in (ROOT / "release").rglob("*.py")]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT,
                             input="\n".join(sources), capture_output=True, text=True)
    assert ignored.stdout.split() == [], ignored.stdout
