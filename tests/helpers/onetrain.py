"""A small one-train repository under git with a local bare repository as `origin`, and the
git-side tasks run on it as a user types them: what the preflight, branching, dry-run and
repository tests share."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from tests.helpers.commands import invoke
from tests.helpers.repos import env, init_repo, snapshot, write

RELEASE = """
[tool.release]
[tool.release.trains.core]
packages = ["core"]
occurrences = [{ path = "docs/install.md", search = "pip install core=={version}" }]
"""


def files(version: str = "1.0.0", release: str = RELEASE) -> dict[str, str]:
    return {
        "pyproject.toml": release,
        "core/pyproject.toml": f'[project]\nname = "core"\nversion = "{version}"\n',
        "core/src/core/__init__.py": f'"""Core."""\n\n__version__ = "{version}"\n',
        "docs/install.md": f"Install:\n\n    pip install core=={version}\n",
        "notes.txt": "unrelated notes\n",
        ".gitignore": "*.log\n",
    }


def sh(repo: Path, *args: str) -> str:
    """git in a test repository, the way a person would type it."""
    out = subprocess.run(["git", *args], cwd=repo, env=env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def make_repo(tmp_path: Path, version: str = "1.0.0", release: str = RELEASE,
              extra: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A committed one-train repository on main, pushed to a bare `origin` it tracks."""
    work = tmp_path / "work"
    write(work, {**files(version, textwrap.dedent(release)), **(extra or {})})
    init_repo(work)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True,
                   env=env())
    sh(work, "remote", "add", "origin", str(origin))
    sh(work, "push", "-q", "-u", "origin", "main")
    return work, origin


def clone(origin: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True, env=env())
    sh(dest, "config", "commit.gpgsign", "false")
    return dest


def commit_file(repo: Path, rel: str, text: str, message: str = "change") -> str:
    (repo / rel).write_text(text)
    sh(repo, "add", rel)
    sh(repo, "commit", "-q", "-m", message)
    return sh(repo, "rev-parse", "HEAD")


# The git-side tasks never need an index: preflight's availability check asks a closed
# loopback port (one "could not check" warning per index) instead of the real TestPyPI/PyPI.
NO_INDEX = "http://127.0.0.1:9/simple/"


def task(*args: str, repo: Path) -> subprocess.CompletedProcess[str]:
    """`invoke ARGS --repo REPO` as a user types it."""
    return invoke(*args, "--repo", str(repo), TESTPYPI_SIMPLE_URL=NO_INDEX,
                  PYPI_SIMPLE_URL=NO_INDEX)


def ok(*args: str, repo: Path) -> str:
    out = task(*args, repo=repo)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def refused(*args: str, repo: Path, says: str, also: Path | None = None) -> str:
    """The task fails with one `error:` line containing `says`, and neither repo nor `also`
    (origin) changed by a single byte."""
    before = snapshot(repo), snapshot(also) if also else {}
    out = task(*args, repo=repo)
    assert out.returncode != 0, out.stdout
    err = out.stderr.strip()
    assert "Traceback" not in err
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert says in err, err
    assert (snapshot(repo), snapshot(also) if also else {}) == before
    return err


def version_in(repo: Path, ref: str) -> str:
    text = sh(repo, "show", f"{ref}:core/pyproject.toml")
    return text.split('version = "')[1].split('"')[0]


# The same repository with tags named v{version} (the beta-branch model's tests).
BETA = RELEASE.replace("[tool.release]\n", '[tool.release]\ntag-format = "v{version}"\n')
