"""Scratch repositories for tests: copies of examples/monorepo under real git."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "monorepo"
BIN = Path(sys.executable).parent

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Release Tester", "GIT_AUTHOR_EMAIL": "tester@example.invalid",
    "GIT_COMMITTER_NAME": "Release Tester", "GIT_COMMITTER_EMAIL": "tester@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def env(**extra: str) -> dict[str, str]:
    """The environment for commands run in tests: our venv first, a fixed git identity."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "RELEASE_"))}
    base["PATH"] = f"{BIN}{os.pathsep}{base.get('PATH', '')}"
    return {**base, **GIT_ENV, **extra}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, env=env(), capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def init_repo(path: Path, message: str = "initial") -> Path:
    """git init path on main, commit everything in it."""
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Release Tester")
    git(path, "config", "user.email", "tester@example.invalid")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "config", "tag.gpgsign", "false")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    return path


def copy_example(dest: Path, *, with_git: bool = True) -> Path:
    """A scratch copy of examples/monorepo (optionally a fresh git repository)."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "dist", ".release"))
    return init_repo(dest) if with_git else dest


def invoke(*args: str, cwd: Path = ROOT, check: bool = False,
           **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run `invoke ARGS` the way a user types it, from this checkout's tasks.py."""
    return subprocess.run([str(BIN / "invoke"), *args], cwd=cwd, env=env(**extra_env),
                          capture_output=True, text=True, check=check, timeout=300)


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file's bytes under path (git internals included), to prove nothing changed."""
    return {str(p.relative_to(path)): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file() and "index.lock" not in p.name}


def interpreters_env(**extra: str) -> dict[str, str]:
    """`env()` with each configured Python on PATH (verify.interpreters knows where pyenv keeps
    the ones its shims do not answer for): the environment a user with all three has. nox
    needs it: under CI=true a Python it cannot find fails the session instead of skipping it."""
    from release.verify.interpreters import find

    dirs = [str(found.path.parent) for v in ("3.11", "3.12", "3.13") if (found := find(v))]
    base = env(**extra)
    base["PATH"] = os.pathsep.join([str(BIN), *dirs, base["PATH"]])
    return base
