"""Shared fixtures: one real devpi-server on loopback per session, a tiny package built once."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from release.pipeline.localindex import LocalDevpi, LocalIndex
from release.proc import run

BIN = Path(sys.executable).parent
_index_numbers = itertools.count(1)

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


Upload = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def devpi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDevpi]:
    """A started devpi-server for the whole session (its log stays in pytest's tmp dir)."""
    server = LocalDevpi(tmp_path_factory.mktemp("devpi"))
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build-environment cache for the session: the first build fills it."""
    return tmp_path_factory.mktemp("build-cache")


@pytest.fixture
def local_index(devpi: LocalDevpi) -> LocalIndex:
    """A fresh, uniquely named, PyPI-like index (the server is restarted if a test stopped it)."""
    devpi.start()
    return devpi.create_index(f"ix{next(_index_numbers)}")


@pytest.fixture(scope="session")
def tiny_dists(tmp_path_factory: pytest.TempPathFactory) -> TinyDists:
    """Build rt-demo 1.0.0 with `uv build` (offline from uv's cache when it can)."""
    project = tmp_path_factory.mktemp("rt-demo")
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


@pytest.fixture(scope="session")
def twine_upload() -> Upload:
    """Upload files to a LocalIndex with twine, as a user would; returns the finished process."""

    def upload(index: LocalIndex, *files: Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
        # `--password=X`, not `-p X`: a value may start with "-" (ours are hex, others not).
        argv = [sys.executable, "-m", "twine", "upload", "--repository-url", index.upload_url,
                f"--username={index.username}", f"--password={index.password}",
                "--non-interactive", "--disable-progress-bar", *map(str, files)]
        return run(argv, env=env, check=False, timeout=120)

    return upload
