"""The commands users type, run the way they type them from this checkout: `invoke`, `nox`,
`release-train` (these three through tests.helpers.launcher), the rehearsal; and the options that
keep an end-to-end release short (one Python, one foreign platform). Each returns the finished
process; none checks its exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import launcher
from tests.helpers.repos import BIN, ROOT, env

FAST = ["--python", "3.11", "--platform", "windows"]  # release-train release, rehearse
ONE = ["-p", "3.11"]  # nox's own choice of Python for testpypi, pypi, verify
PLATFORM = ["--platform", "windows"]


def invoke(*args: str, cwd: Path = ROOT, check: bool = False,
           **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run `invoke ARGS` the way a user types it, from this checkout's tasks.py."""
    return launcher.run("invoke", args, cwd=cwd, env=env(**extra_env), timeout=300,
                        bin_dir=BIN, check=check)


def nox(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`nox ARGS` with this checkout's noxfile."""
    return launcher.run("nox", args, cwd=ROOT, env=env(**extra_env), timeout=600, bin_dir=BIN)


def nox_build(repo: Path, *args: str, cache: Path, **extra_env: str
              ) -> subprocess.CompletedProcess[str]:
    """`nox -s build -- --repo REPO ARGS` exactly as a user runs it, build environments in
    `cache`."""
    return nox("-s", "build", "--", "--repo", str(repo), *args,
               RELEASE_TRAIN_CACHE_DIR=str(cache), **extra_env)


def release_train(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`release-train ARGS` as a user types it."""
    return launcher.run("release-train", args, cwd=ROOT, env=env(**extra_env), timeout=900,
                        bin_dir=BIN)


REHEARSE = "import sys; from release.sessions import rehearse; sys.exit(rehearse(sys.argv[1:]))"


def rehearse_argv(source: Path, workspace: Path, *more: str) -> list[str]:
    """The rehearsal of source (an rc, FAST) in workspace, as nox -s rehearse runs it."""
    return [sys.executable, "-c", REHEARSE, str(source), "--workspace", str(workspace),
            "--part", "rc", *FAST, *more]
