"""Files once uploaded are the release: reuse, --rebuild, and the difference explainer.

The explainer is tested on small archives made here that differ in one way each; reuse and
--rebuild on real builds of a two-package repository (hatchling and setuptools), the
acceptance test against a real devpi-server through the TESTPYPI_* variables.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from release import record as record_module
from release.build.distdiff import explain, fix_for
from release.build.manifest import Artifact, Manifest
from release.errors import BuildError
from release.pipeline import rehearsal
from release.pipeline.localindex import LocalDevpi
from release.pipeline.published import Published, PublishedFile, differences, find, reuse
from release.publish.index import IndexClient
from tests.helpers import commands
from tests.helpers.repos import git, init_repo

Member = tuple[str, bytes, int, int]  # name, content, mtime, mode
BASE: list[Member] = [("p-1.0/PKG-INFO", b"Name: p\n", 1000, 0o644),
                      ("p-1.0/p/__init__.py", b"x = 1\n", 1000, 0o644)]


def make_sdist(path: Path, members: Sequence[Member], gzip_time: int = 0) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mtime, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), mtime, mode
            tar.addfile(info, io.BytesIO(data))
    with gzip.GzipFile(path, "wb", mtime=gzip_time) as gz:
        gz.write(raw.getvalue())
    return path


def make_wheel(path: Path, members: Sequence[Member]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mtime, mode in members:
            info = zipfile.ZipInfo(name, date_time=(1980 + mtime % 50, 1, 1, 0, 0, 0))
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def pair(tmp_path: Path, second: Sequence[Member], *, wheel: bool = False,
         gzip_time: int = 0) -> list[str]:
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    name = "p-1.0-py3-none-any.whl" if wheel else "p-1.0.tar.gz"
    if wheel:
        wheels = [make_wheel(tmp_path / d / name, m) for d, m in (("a", BASE), ("b", second))]
        return explain(*wheels)
    return explain(make_sdist(tmp_path / "a" / name, BASE),
                   make_sdist(tmp_path / "b" / name, second, gzip_time))


def changed(index: int, **what: object) -> list[Member]:
    members = list(BASE)
    name, data, mtime, mode = members[index]
    members[index] = (name, bytes(what.get("data", data)),  # type: ignore[arg-type]
                      int(what.get("mtime", mtime)), int(what.get("mode", mode)))  # type: ignore[call-overload]
    return members


# --- the difference explainer -----------------------------------------------------------

def test_identical_archives_have_no_difference(tmp_path: Path) -> None:
    assert pair(tmp_path, BASE) == []
    assert pair(tmp_path, BASE, wheel=True) == []


def test_only_the_gzip_header_time(tmp_path: Path) -> None:
    assert pair(tmp_path, BASE, gzip_time=1234) == ["the gzip header time (0 vs 1234)"]


def test_tar_member_mtimes_name_the_members(tmp_path: Path) -> None:
    assert pair(tmp_path, changed(0, mtime=2000)) == ["tar member mtimes (p-1.0/PKG-INFO)"]


def test_tar_member_content_names_the_member(tmp_path: Path) -> None:
    assert pair(tmp_path, changed(1, data=b"x = 2\n")) == ["member content (p-1.0/p/__init__.py)"]


def test_tar_member_order_and_permissions(tmp_path: Path) -> None:
    assert pair(tmp_path, BASE[::-1]) == ["the tar member order"]
    assert pair(tmp_path, changed(1, mode=0o755)) == [
        "tar member permissions (p-1.0/p/__init__.py)"]


def test_tar_members_only_in_one(tmp_path: Path) -> None:
    extra = [*BASE, ("p-1.0/setup.cfg", b"", 1000, 0o644)]
    assert pair(tmp_path, extra) == [
        "the tar members (only in the first: none; only in the second: p-1.0/setup.cfg)"]


def test_several_causes_at_once(tmp_path: Path) -> None:
    causes = pair(tmp_path, changed(0, mtime=5, data=b"Name: q\n"), gzip_time=9)
    assert causes == ["the gzip header time (0 vs 9)", "tar member mtimes (p-1.0/PKG-INFO)",
                      "member content (p-1.0/PKG-INFO)"]


def test_zip_member_timestamps_content_order_permissions(tmp_path: Path) -> None:
    assert pair(tmp_path, changed(0, mtime=7), wheel=True) == [
        "zip member timestamps (p-1.0/PKG-INFO)"]
    assert pair(tmp_path, changed(1, data=b"y\n"), wheel=True) == [
        "member content (p-1.0/p/__init__.py)"]
    assert pair(tmp_path, BASE[::-1], wheel=True) == ["the zip member order"]
    assert pair(tmp_path, changed(1, mode=0o755), wheel=True) == [
        "zip member permissions (p-1.0/p/__init__.py)"]


def test_a_file_that_is_not_an_archive_is_still_explained(tmp_path: Path) -> None:
    (tmp_path / "a.tar.gz").write_bytes(b"one")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "a.tar.gz").write_bytes(b"two")
    [cause] = explain(tmp_path / "a.tar.gz", tmp_path / "b" / "a.tar.gz")
    assert cause.startswith("the bytes (cannot open it")


def test_fixes_name_the_backend_setting() -> None:
    times = ["the gzip header time (1 vs 2)", "tar member mtimes (p/PKG-INFO)"]
    assert "setuptools ignores SOURCE_DATE_EPOCH" in fix_for("setuptools.build_meta", times)
    assert "gzip header" in fix_for("pdm.backend", times[:1])
    assert "SOURCE_DATE_EPOCH" in fix_for("mybackend", times)
    assert "content changes between builds" in fix_for("hatchling.build",
                                                      ["member content (p/x.py)"])


# --- reading records, reusing files ----------------------------------------------------

def journal(root: Path, train: str, version: str, files: Sequence[Path], *,
            status: str = "done", index: str = "https://test.pypi.org/legacy/") -> None:
    """A record as the pipeline leaves it after an upload step (through the record API)."""
    rec = record_module.load(root, train, version)
    rec.set("artifacts", [{"package": "p", "version": version, "filename": f.name,
                           "kind": "sdist" if f.name.endswith(".tar.gz") else "wheel",
                           "size": f.stat().st_size,
                           "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
                          for f in files])
    rec.set("commit", "0" * 40)
    rec.begin("testpypi-upload", {"index": "testpypi"})
    if status == "done":
        rec.finish("testpypi-upload", {"index": index, "uploaded": [f.name for f in files]}, 1)
    elif status == "failed":
        rec.fail("testpypi-upload", "boom", 1)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    out = tmp_path / "dist" / "t-1.0"
    out.mkdir(parents=True)
    make_sdist(out / "p-1.0.tar.gz", BASE)
    make_wheel(out / "p-1.0-py3-none-any.whl", BASE)
    return out


def test_find_reads_what_a_record_shows_uploaded(tmp_path: Path, dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert find(tmp_path, "t", "1.0") is None
    rec = record_module.load(tmp_path, "t", "1.0")
    with rec.running("build", {"tag": "v1.0"}):
        pass
    assert find(tmp_path, "t", "1.0") is None  # built, not uploaded
    journal(tmp_path, "t", "1.0", files)
    published = find(tmp_path, "t", "1.0")
    assert published is not None and published.where == ("https://test.pypi.org/legacy/",)
    assert {f.filename for f in published.files} == {f.name for f in files}
    assert find(tmp_path, "t", "1.0.0") == published  # PEP 440 equal
    assert find(tmp_path, "t", "1.1") is None


def test_an_upload_that_failed_part_way_counts(tmp_path: Path, dist: Path) -> None:
    journal(tmp_path, "t", "1.0", sorted(dist.iterdir()), status="failed")
    published = find(tmp_path, "t", "1.0")
    assert published is not None and published.where == ("testpypi",)


def test_reuse_checks_every_file_against_the_record(tmp_path: Path, dist: Path) -> None:
    journal(tmp_path, "t", "1.0", sorted(dist.iterdir()))
    published = find(tmp_path, "t", "1.0")
    assert published is not None
    manifest = reuse(published, dist)  # no manifest.json yet: written from the record
    assert {a.filename for a in manifest.artifacts} == {p.name for p in dist.glob("p-*")}
    assert Manifest.load(dist) == manifest
    wheel = dist / "p-1.0-py3-none-any.whl"
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    with pytest.raises(BuildError, match=r"p-1.0-py3-none-any.whl was changed after it was "
                                         r"uploaded to https://test.pypi.org/legacy/"):
        reuse(published, dist)
    wheel.unlink()
    with pytest.raises(BuildError, match=r"p-1.0-py3-none-any.whl is missing"):
        reuse(published, dist)


def test_differences_explain_each_file_against_the_published_copy(tmp_path: Path,
                                                                  dist: Path) -> None:
    published = Published("t", "1.0", "", ("https://x/",), tuple(
        PublishedFile("p", f.name, "", f.stat().st_size,
                      hashlib.sha256(f.read_bytes()).hexdigest()) for f in dist.iterdir()))
    again = tmp_path / "again"
    again.mkdir()
    sdist = make_sdist(again / "p-1.0.tar.gz", BASE, gzip_time=77)
    wheel = make_wheel(again / "p-1.0-py3-none-any.whl", BASE)
    extra = make_wheel(again / "p-1.0-py2-none-any.whl", BASE)
    rebuilt = Manifest("t", "1.0", "", tuple(
        Artifact("p", "1.0", f.name, "", f.stat().st_size,
                 hashlib.sha256(f.read_bytes()).hexdigest(), 0.0)
        for f in (sdist, wheel, extra)), again)
    assert differences(published, rebuilt, dist) == [
        "p-1.0.tar.gz (the gzip header time (0 vs 77))",
        "p-1.0-py2-none-any.whl (not among the published files)"]


# --- real builds ------------------------------------------------------------------------

HATCH = '''[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "rt-pub-hatch"
version = "1.0.0"
description = "hatchling package"
readme = "README.md"
requires-python = ">=3.8"
'''
SETUP = HATCH.replace('requires = ["hatchling"]', 'requires = ["setuptools>=68"]').replace(
    "hatchling.build", "setuptools.build_meta").replace("rt-pub-hatch", "rt-pub-setup") + (
    '\n[tool.setuptools.packages.find]\nwhere = ["src"]\n')


def small_repo(path: Path, *, setuptools: bool = True) -> Path:
    """One train `pub` at 1.0.0: a hatchling package and (optionally) a setuptools one."""
    packages = {"hatch": HATCH, **({"setup": SETUP} if setuptools else {})}
    listed = ", ".join(f'"{p}"' for p in packages)
    (path / "pyproject.toml").parent.mkdir(parents=True)
    (path / "pyproject.toml").write_text(f"[tool.release.trains.pub]\npackages = [{listed}]\n",
                                         encoding="utf-8")
    for folder, text in packages.items():
        module = path / folder / "src" / f"rt_pub_{folder}"
        module.mkdir(parents=True)
        (module / "__init__.py").write_text('"""Test."""\n__version__ = "1.0.0"\n',
                                            encoding="utf-8")
        (path / folder / "pyproject.toml").write_text(text, encoding="utf-8")
        (path / folder / "README.md").write_text(f"# {folder}\n", encoding="utf-8")
    return init_repo(path)


def nox(*args: str, cache: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return commands.nox(*args, RELEASE_TRAIN_CACHE_DIR=str(cache), **extra)


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def errors(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in said(proc).splitlines() if ln.startswith("error:")]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def indexes(devpi: LocalDevpi, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    devpi.start()
    tag = re.sub(r"\W", "", request.node.name)[-12:].lower()
    yield rehearsal.index_env({name: devpi.create_index(f"{name}{tag}")
                               for name in ("testpypi", "pypi")})


@pytest.mark.slow
def test_build_after_upload_reuses_the_uploaded_files(tmp_path: Path, cache: Path,
                                                      indexes: dict[str, str]) -> None:
    """Acceptance (b): build, testpypi, build again: dist/ holds the uploaded bytes, and a
    testpypi rerun passes. --rebuild refuses the setuptools sdist, and a changed file in dist/
    is refused by name."""
    repo = small_repo(tmp_path / "repo")
    args = ["--", "--repo", str(repo)]
    fast = ["--platform", "windows"]  # after the posargs; nox picks the Python: -p 3.11
    first = nox("-s", "build", *args, cache=cache, **indexes)
    assert first.returncode == 0, said(first)
    upload = nox("-s", "testpypi", "-p", "3.11", *args, *fast, cache=cache, **indexes)
    assert upload.returncode == 0, said(upload)
    built = snapshot(repo / "dist")
    again = nox("-s", "build", *args, cache=cache, **indexes)
    assert again.returncode == 0, said(again)
    url = indexes["TESTPYPI_UPLOAD_URL"]
    assert f"pub 1.0.0: reusing the 4 files uploaded to {url} (" in again.stdout
    assert "--rebuild to build again" in again.stdout
    assert snapshot(repo / "dist") == built
    client = IndexClient(indexes["TESTPYPI_SIMPLE_URL"])
    listed = {f.filename: f.sha256 for p in ("rt-pub-hatch", "rt-pub-setup")
              for f in client.files(p)}
    assert listed == {name.split("/")[-1]: hashlib.sha256(data).hexdigest()
                      for name, data in built.items() if not name.endswith(".json")}
    rerun = nox("-s", "testpypi", "-p", "3.11", *args, *fast, cache=cache, **indexes)
    assert rerun.returncode == 0, said(rerun)

    rebuild = nox("-s", "build", *args, "--rebuild", cache=cache, **indexes)
    assert rebuild.returncode == 1
    [line] = errors(rebuild)
    assert f"pub 1.0.0 would differ from the files uploaded to {url}: " in line
    assert re.search(r"rt_pub_setup-1\.0\.0\.tar\.gz \(the gzip header time \(\d+ vs \d+\); "
                     r"tar member mtimes \(", line), line
    assert "rt_pub_hatch" not in line
    assert snapshot(repo / "dist") == built
    assert [p.name for p in (repo / "dist").iterdir()] == ["pub-1.0.0"]

    wheel = next((repo / "dist" / "pub-1.0.0").glob("rt_pub_hatch-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    tampered = nox("-s", "build", *args, cache=cache, **indexes)
    assert tampered.returncode == 1
    [line] = errors(tampered)
    assert f"{wheel.name} was changed after it was uploaded to {url}" in line


@pytest.mark.slow
def test_rebuild_says_identical_or_refuses_a_content_change(tmp_path: Path,
                                                           cache: Path) -> None:
    repo = small_repo(tmp_path / "repo", setuptools=False)
    args = ["-s", "build", "--", "--repo", str(repo)]
    assert nox(*args, cache=cache).returncode == 0
    out = repo / "dist" / "pub-1.0.0"
    files = sorted(out.glob("rt_pub_*"))
    journal(repo, "pub", "1.0.0", files, index="http://127.0.0.1:9/legacy/")
    before = snapshot(repo / "dist")
    same = nox(*args, "--rebuild", cache=cache)
    assert same.returncode == 0, said(same)
    assert ("pub 1.0.0: rebuilt, byte-identical to the 2 files uploaded to "
            "http://127.0.0.1:9/legacy/") in same.stdout
    rebuilt = snapshot(repo / "dist")
    assert {k: v for k, v in rebuilt.items() if "json" not in k} == {
        k: v for k, v in before.items() if "json" not in k}

    init = repo / "hatch" / "src" / "rt_pub_hatch" / "__init__.py"
    init.write_text(init.read_text() + "CHANGED = True\n")
    git(repo, "commit", "-qam", "change without a new version")
    refused = nox(*args, "--rebuild", cache=cache)
    assert refused.returncode == 1
    [line] = errors(refused)
    assert line.startswith("error: --rebuild refused, ") and "pub 1.0.0 would differ" in line
    for name in (f.name for f in files):  # each file named, with the member that changed
        assert re.search(re.escape(name) + r" \(.*?member content \((rt_pub_hatch-1.0.0/src/)?"
                         r"rt_pub_hatch/__init__.py", line), line
    assert snapshot(repo / "dist") == rebuilt  # dist/ untouched
    reused = nox(*args, cache=cache)
    assert reused.returncode == 0 and "pub 1.0.0: reusing the 2 files" in reused.stdout
