"""tests.helpers.launcher runs a command as its own process would: the same output, exit
code, working directory and environment, and the signal that killed it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import launcher
from tests.helpers.repos import BIN, ROOT, copy_example, env

COMMANDS = [
    ("invoke", ["status", "--repo", "{repo}"]),
    ("invoke", ["check", "--repo", "{repo}"]),
    ("invoke", ["bump", "--repo", "{repo}", "--train", "core", "--part", "minor", "--dry-run"]),
    ("invoke", ["bump", "--repo", "{repo}", "--train", "nope", "--part", "minor"]),
    ("invoke", ["--help", "bump"]),
    ("invoke", ["bmup"]),
    ("release-train", ["--repo", "{repo}", "status", "--train", "core"]),
    ("release-train", ["--version"]),
    ("release-train", ["check", "--repo", "{repo}", "--trian", "core"]),
    ("nox", ["-l"]),
    ("nox", ["-s", "verify", "-p", "3.12", "--", "--repo", "{repo}"]),
    ("twine", ["--version"]),
    ("twine", ["check", "{repo}/no-such.whl"]),
]


@pytest.mark.parametrize(("program", "args"), COMMANDS,
                         ids=[" ".join(a[:2]) for _, a in COMMANDS])
def test_a_launched_command_is_the_spawned_one(program: str, args: list[str],
                                               tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    argv = [str(BIN / program), *(a.format(repo=repo) for a in args)]
    spawned = subprocess.run(argv, cwd=ROOT, env=env(), capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
    launched = launcher.Launcher().run(program, argv, cwd=ROOT, env=env(), timeout=60)
    assert (launched.returncode, launched.stdout, launched.stderr) == \
        (spawned.returncode, spawned.stdout, spawned.stderr)
    assert spawned.stdout + spawned.stderr


def test_the_command_gets_its_own_directory_and_environment(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    # No --repo: RELEASE_REPO from the command's environment, then its working directory.
    by_env = launcher.run("release-train", ["status"], cwd=ROOT,
                          env=env(RELEASE_REPO=str(repo)), timeout=60, bin_dir=BIN)
    by_cwd = launcher.run("release-train", ["status"], cwd=repo, env=env(), timeout=60,
                          bin_dir=BIN)
    assert by_env.returncode == by_cwd.returncode == 0, by_env.stderr + by_cwd.stderr
    assert by_env.stdout == by_cwd.stdout and "core (python) 0.4.2" in by_cwd.stdout
    # The next command does not inherit the last one's environment.
    elsewhere = launcher.run("release-train", ["status"], cwd=tmp_path, env=env(),
                             timeout=60, bin_dir=BIN)
    assert elsewhere.returncode != 0 and "core (python)" not in elsewhere.stdout


def test_a_killed_command_reports_its_signal(tmp_path: Path) -> None:
    """release-train's kill points end the process with SIGKILL: -9, as subprocess says."""
    repo = copy_example(tmp_path / "repo")
    argv = ["--repo", str(repo), "release", "--part", "patch"]
    out = launcher.run("release-train", argv, cwd=ROOT, env=env(
        RELEASE_KILL_AFTER="preflight", TESTPYPI_SIMPLE_URL="http://127.0.0.1:9/simple/",
        PYPI_SIMPLE_URL="http://127.0.0.1:9/simple/"), timeout=120, bin_dir=BIN)
    assert out.returncode == -9, out.stdout + out.stderr


def test_a_command_past_its_timeout_is_killed() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        launcher.Launcher().run("invoke", [str(BIN / "invoke"), "--help"], cwd=ROOT,
                                env=env(), timeout=0.001)


# Imports the launch server's modules with every read of os.environ and of the working
# directory recorded (the variable, or "cwd", and the file that asked).
SPY = """
import os, sys, traceback
reads = []
def asked(what):
    frames = [f for f in traceback.extract_stack()[:-2] if not f.filename.startswith("<")]
    reads.append((what, frames[-1].filename))
environ = type(os.environ)
get, has, getcwd = environ.__getitem__, environ.__contains__, os.getcwd
environ.__getitem__ = lambda self, key: (asked(key), get(self, key))[1]
environ.__contains__ = lambda self, key: (asked(key), has(self, key))[1]
os.getcwd = lambda: (asked("cwd"), getcwd())[1]
import importlib, launchpad
launchpad.preload()
for name in sys.argv[1:]:
    importlib.import_module(name)
for what, where in reads:
    print(what, where)
"""
# What third-party modules read when imported, none of which a test gives a command with
# another value than the test process has: invoke's and argcomplete's debug switches, nox's CI
# and argcomplete's completion settings, Python's own (HOME, the user site, the platform), and
# rich's working directory (only to shorten paths in tracebacks).
EXPECTED = {"INVOKE_DEBUG", "_ARC_DEBUG", "_ARGCOMPLETE_SUPPRESS_SPACE", "CI", "HOME",
            "PYTHONUSERBASE", "_PYTHON_PROJECT_BASE", "_PYTHON_HOST_PLATFORM", "cwd"}


def _reads_at_import(*more: str) -> list[list[str]]:
    out = subprocess.run([sys.executable, "-c", SPY, *more], cwd=ROOT / "tests" / "helpers",
                         env=env(), capture_output=True, text=True, timeout=60, check=True)
    return [line.split(" ", 1) for line in out.stdout.splitlines()]


def test_what_the_server_imports_reads_no_variable_a_command_could_change() -> None:
    reads = _reads_at_import()
    assert {what for what, _ in reads} <= EXPECTED, reads
    assert not [where for _, where in reads if where.startswith(str(ROOT / "release"))], reads
    # The spy sees what it must: release.noxsessions reads the repository (RELEASE_REPO, else
    # the working directory) when imported, which is why the server never imports it.
    noxsessions = str(ROOT / "release" / "noxsessions.py")
    assert ["RELEASE_REPO", noxsessions] in _reads_at_import("release.noxsessions")
