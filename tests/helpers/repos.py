"""Scratch repositories for tests: copies of examples/monorepo under real git, small
repositories written from a dict of files, the rehearsal's scratch clone with a bare origin,
and the environment every command a test runs gets (our venv first, a fixed git identity)."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "monorepo"
BIN = Path(sys.executable).parent

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Release Tester", "GIT_AUTHOR_EMAIL": "tester@example.invalid",
    "GIT_COMMITTER_NAME": "Release Tester", "GIT_COMMITTER_EMAIL": "tester@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


# What init_repo adds to a scratch repository's .git/config.
IDENTITY = """[user]
\tname = Release Tester
\temail = tester@example.invalid
[commit]
\tgpgsign = false
[tag]
\tgpgsign = false
"""


# uv never fetches a Python for a test: asked for one it cannot find (`uv pip compile
# --python-version 3.13` in init-ci, with no 3.13 on PATH), it would try to download one first.
OFFLINE_PYTHONS = {"UV_PYTHON_DOWNLOADS": "never"}


def env(**extra: str) -> dict[str, str]:
    """The environment for commands run in tests: our venv first, a fixed git identity."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "RELEASE_"))}
    base["PATH"] = f"{BIN}{os.pathsep}{base.get('PATH', '')}"
    return {**base, **GIT_ENV, **OFFLINE_PYTHONS, **extra}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, env=env(), capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def init_repo(path: Path, message: str = "initial") -> Path:
    """git init path on main, commit everything in it."""
    git(path, "init", "-q", "-b", "main")
    with (path / ".git" / "config").open("a", encoding="utf-8") as config:
        config.write(IDENTITY)  # four `git config` calls, ~200 scratch repositories a run
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    return path


def copy_example(dest: Path, *, with_git: bool = True) -> Path:
    """A scratch copy of examples/monorepo (optionally a git repository of its own, with
    everything committed): a copy of one made once per process."""
    if not with_git:
        shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(
            "__pycache__", "*.egg-info", "build", "dist", ".release"))
        return dest
    if not _EXAMPLE:
        made = Path(tempfile.mkdtemp(prefix="rt-example-"))
        atexit.register(shutil.rmtree, made, True)
        _EXAMPLE.append(copy_example(made / "monorepo", with_git=False))
        init_repo(_EXAMPLE[0])
        git(_EXAMPLE[0], "repack", "-adq")  # one pack file to copy, not an object per file
        git(_EXAMPLE[0], "prune-packed", "-q")
    return copy_repo(_EXAMPLE[0], dest)


_EXAMPLE: list[Path] = []  # the committed copy of the example this process copies


def copy_repo(source: Path, dest: Path) -> Path:
    """A copy of a git repository (work tree and .git), its index refreshed: git sees the
    copied files as unchanged, and a command that only reads writes nothing."""
    shutil.copytree(source, dest, symlinks=True)
    git(dest, "update-index", "-q", "--refresh")
    return dest


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


def write(root: Path, files: dict[str, str], *, dedent: bool = True) -> Path:
    """Write each file under root, directories included: its text dedented and without leading
    blank lines, or as it is (`dedent=False`)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip() if dedent else text, encoding="utf-8")
    return root


PKG = """
[project]
name = "{name}"
version = "1.0.0"
"""


def config_repo(root: Path, release: str, *, extra: dict[str, str] | None = None,
                in_release_toml: bool = False) -> Path:
    """Two packages (pkgs/a, pkgs/b at 1.0.0) and `release` as their [tool.release] table
    (or as release.toml); not under git."""
    files = {"pkgs/a/pyproject.toml": PKG.format(name="a"),
             "pkgs/b/pyproject.toml": PKG.format(name="b"),
             "docs/install.md": "pip install a==1.0.0\n"}
    if in_release_toml:
        files["release.toml"] = release
    else:
        files["pyproject.toml"] = "[tool.release]\n" + textwrap.dedent(release).lstrip()
    return write(root, {**files, **(extra or {})})


def scratch_clone(tmp_path: Path, source: Path = EXAMPLE) -> Path:
    """A clone of source with a bare origin (tmp_path/ws/origin.git): what the rehearsal
    works in; returns the clone (tmp_path/ws/repo)."""
    from release.pipeline import rehearsal

    ws = rehearsal.Workspace(tmp_path / "ws")
    ws.path.mkdir()
    rehearsal.clone_into(source, ws)
    return ws.repo


def records(repo: Path) -> dict[str, dict[str, Any]]:
    """The repository's release records, by name (core-0.4.2: its JSON)."""
    return {p.stem: json.loads(p.read_text()) for p in (repo / ".release").glob("*.json")}
