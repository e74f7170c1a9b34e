"""Packages built for tests, once per session where they are only read: rt-demo 1.0.0 (a
tiny sdist and wheel), the mini release (skyline-core and skyline from the example, one train,
4 files), variants of example packages; and reading what a distribution holds."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from release.build.frontend import build_trains
from release.config import load
from release.proc import run
from tests.helpers.repos import BIN, EXAMPLE, init_repo

Upload = Callable[..., subprocess.CompletedProcess[str]]

DEMO_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "rt-demo"
version = "1.0.0"
description = "A tiny package for release-train tests."
requires-python = ">=3.8"
"""


@dataclass(frozen=True)
class TinyDists:
    """The sdist and wheel of rt-demo 1.0.0."""

    sdist: Path
    wheel: Path

    @property
    def paths(self) -> tuple[Path, Path]:
        return (self.sdist, self.wheel)


def build_tiny(project: Path) -> TinyDists:
    """Build rt-demo 1.0.0 in project with `uv build` (offline from uv's cache when it can)."""
    (project / "pyproject.toml").write_text(DEMO_PYPROJECT, encoding="utf-8")
    package = project / "src" / "rt_demo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('__version__ = "1.0.0"\n', encoding="utf-8")
    out = project / "dist"
    argv = [str(BIN / "uv"), "build", "--out-dir", str(out), str(project)]
    if run([*argv, "--offline"], cwd=project, check=False, timeout=300).returncode != 0:
        run(argv, cwd=project, timeout=300)  # needs PyPI for hatchling
    return TinyDists(sdist=out / "rt_demo-1.0.0.tar.gz",
                     wheel=out / "rt_demo-1.0.0-py3-none-any.whl")


MINI_CONFIG = """\
[tool.release]
pythons = ["3.11"]
platforms = ["windows"]
upload-concurrency = 1  # the fault table counts "file k of 4" in one order

[tool.release.trains.core]
packages = ["packages/*"]
tag-format = "v{version}"
"""


def build_mini(base: Path) -> Path:
    """skyline-core and skyline from the example (one train, 4 files) committed in base/repo
    and built into base/dist: returns the repository; its files are in the `dist` beside it."""
    repo = base / "repo"
    repo.mkdir()
    shutil.copytree(EXAMPLE / "packages", repo / "packages",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "pyproject.toml").write_text(MINI_CONFIG, encoding="utf-8")
    init_repo(repo)
    config = load(repo)
    build_trains(config, list(config.trains.values()), out_dir=base / "dist",
                 progress=lambda _: None)
    return repo


def mini_copy(built: Path, tmp_path: Path) -> Path:
    """A repository of the test's own (its records are its own), sharing the built files."""
    repo = tmp_path / "repo"
    shutil.copytree(built, repo, symlinks=True)
    return repo


def uv_build(source: Path, out: Path) -> None:
    run([str(BIN / "uv"), "build", "--no-config", "--quiet", "--out-dir", str(out), str(source)],
        timeout=300)


def variant(tmp: Path, package: str, old: str, new: str, name: str) -> Path:
    """A copy of an example package with one text changed in every file (version or code)."""
    copy = tmp / name
    shutil.copytree(EXAMPLE / package, copy)
    for path in copy.rglob("*"):
        if path.is_file() and path.suffix in (".toml", ".py"):
            path.write_text(path.read_text().replace(old, new))
    return copy


def dists(directory: Path) -> list[Path]:
    """The wheels and sdists in directory, sorted."""
    return sorted([*directory.glob("*.whl"), *directory.glob("*.tar.gz")])


def members(path: Path) -> dict[str, bytes]:
    """Every file inside an sdist or a wheel, by name."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as zf:
            return {n: zf.read(n) for n in zf.namelist()}
    with tarfile.open(path) as tf:
        return {m.name: tf.extractfile(m).read()  # type: ignore[union-attr]
                for m in tf.getmembers() if m.isfile()}
