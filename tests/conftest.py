"""Shared fixtures: one real devpi-server on loopback per pytest process (each xdist worker has
its own), packages built once per process, the example tagged, a GitHub stand-in. What they
are made of lives in tests/helpers/."""

from __future__ import annotations

import compileall
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from release.build.environments import default_cache_dir
from release.pipeline.localindex import LocalDevpi, LocalIndex
from release.proc import discard
from tests.helpers import github as github_stand_in
from tests.helpers import launcher
from tests.helpers.commands import invoke
from tests.helpers.dists import TinyDists, Upload, build_mini, build_tiny
from tests.helpers.indexes import fresh_index, stand_ins, start_devpi
from tests.helpers.repos import BIN, ROOT, copy_example, copy_repo

# Every process the tests start finds tests/helpers/cheap_devpi first on its path: the devpi
# stand-ins among them hash passwords at argon2's lowest cost (its docstring says why).
CHEAP_DEVPI = Path(__file__).parent / "helpers" / "cheap_devpi"
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(CHEAP_DEVPI), *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture(scope="session")
def devpi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDevpi]:
    """A started devpi-server for the whole session (its log stays in pytest's tmp dir)."""
    server = start_devpi(tmp_path_factory.mktemp("devpi"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def server(devpi: LocalDevpi) -> LocalDevpi:
    """The session's devpi-server, started (a test before may have stopped it): take indexes
    from it with tests.helpers.indexes.fresh_index, never by a fixed name."""
    return devpi.start()


@pytest.fixture
def values(server: LocalDevpi) -> dict[str, str]:
    """Fresh testpypi and pypi stand-ins; the variables that point at them."""
    return stand_ins(server)


@pytest.fixture(scope="session")
def cache() -> Path:
    """release-train's own build-environment cache, kept between runs as a user's is (safe to
    share: a new environment is made under a temporary name and renamed). A test that must see
    environments being made (tests/build/test_frontend.py) makes a cache of its own."""
    return default_cache_dir()


@pytest.fixture
def local_index(server: LocalDevpi) -> LocalIndex:
    """A fresh, uniquely named, PyPI-like index."""
    return fresh_index(server, "ix")


@pytest.fixture(scope="session")
def tiny_dists(tmp_path_factory: pytest.TempPathFactory) -> TinyDists:
    """rt-demo 1.0.0, built once with `uv build`."""
    return build_tiny(tmp_path_factory.mktemp("rt-demo"))


@pytest.fixture(scope="session")
def built_mini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini release (one train, 4 files) built once: the repository; its files are in the
    `dist` beside it. Copy it (tests.helpers.dists.mini_copy) before writing to it."""
    return build_mini(tmp_path_factory.mktemp("mini"))


@pytest.fixture(scope="session")
def twine_upload() -> Upload:
    """Upload files to a LocalIndex with twine, as a user would; returns the finished process."""

    def upload(index: LocalIndex, *files: Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
        # `--password=X`, not `-p X`: a value may start with "-" (ours are hex, others not).
        argv = ["upload", "--repository-url", index.upload_url,
                f"--username={index.username}", f"--password={index.password}",
                "--non-interactive", "--disable-progress-bar", *map(str, files)]
        return launcher.run("twine", argv, cwd=ROOT, env=env, timeout=120, bin_dir=BIN)

    return upload


@pytest.fixture(scope="session")
def tagged_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with its current versions (core, extensions) tagged by `invoke tag`, once
    per process: copy it (the `tagged` fixture) before writing to it."""
    repo = copy_example(tmp_path_factory.mktemp("tagged") / "repo")
    for train in ("core", "extensions"):
        out = invoke("tag", "--repo", str(repo), "--train", train)
        assert out.returncode == 0, out.stderr
    return repo


@pytest.fixture
def tagged(tagged_example: Path, tmp_path: Path) -> Path:
    """A scratch copy of the example whose current versions (core, extensions) are tagged."""
    return copy_repo(tagged_example, tmp_path / "repo")


@pytest.fixture
def github() -> Iterator[github_stand_in.FakeGitHub]:
    """A GitHub REST API stand-in on loopback, recording every request."""
    with github_stand_in.serving() as fake:
        yield fake


def pytest_configure(config: pytest.Config) -> None:
    """Compile release/ and tests/ once, before the workers start: every Python the tests
    start (nox, the rehearsal, each worker) then reads bytecode instead of compiling the same
    sources again, also where PYTHONDONTWRITEBYTECODE=1 keeps each from writing its own."""
    if not hasattr(config, "workerinput"):  # the controlling process, not an xdist worker
        for tree in ("release", "tests"):
            compileall.compile_dir(ROOT / tree, quiet=1)


# PYTHONDONTWRITEBYTECODE=1 (set on this machine) also keeps pytest from caching the test modules
# it rewrites for its assertions: each worker would rewrite every one of them at every run. While
# collecting, pytest's own processes write that cache; what the tests start keeps the setting.
_WRITE_BYTECODE_AFTER = sys.dont_write_bytecode
sys.dont_write_bytecode = False


def pytest_collection_finish(session: pytest.Session) -> None:
    sys.dont_write_bytecode = _WRITE_BYTECODE_AFTER


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests first: xdist hands the long ones out early and the short ones fill the
    gaps (the order within each kind is kept)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# Modules whose tests share an expensive session fixture (a build made once per process): each
# runs on one xdist worker, so the fixture is made once; every other test goes to whichever
# worker is free. (xdist's own `--dist loadgroup` does not group under pytest 9.)
ONE_WORKER = ("tests/build/test_frontend.py", "tests/verify/test_installs.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerModules(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER else nodeid

    return OneWorkerModules(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """pytest deletes the runs older than its last three as the session ends (~50,000 files a
    run, seconds on this disk) while the suite's clock still runs: take them out of its way and
    let a background process delete them (release.proc.discard, as the tool does with its own
    scratch directories). pytest's own rule: numbered below the newest minus the retention
    count, and no session's lock inside."""
    if hasattr(session.config, "workerinput") or session.config.option.basetemp:
        return
    factory: pytest.TempPathFactory = session.config._tmp_path_factory  # type: ignore[attr-defined]
    root = factory.getbasetemp().parent  # pytest-of-USER, wherever pytest put it
    runs = {int(p.name[7:]): p for p in root.glob("pytest-*") if p.name[7:].isdigit()}
    if not runs:
        return
    newest, keep = max(runs), int(session.config.getini("tmp_path_retention_count"))
    for number, path in runs.items():
        if number <= newest - keep and not (path / ".lock").exists():
            with contextlib.suppress(OSError):
                path.rename(root / f"discarded-{path.name}-{os.getpid()}")
    for old in root.glob("discarded-pytest-*"):
        discard(old)
