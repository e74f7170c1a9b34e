"""`nox -s rehearse`: `release-train release` on a scratch clone against local indexes.

The user's repository is never touched: it is cloned (or, for a directory inside a repository,
copied) into a workspace with a bare `origin`, and two devpi-server indexes stand in for
TestPyPI and PyPI, so no credentials are needed and nothing leaves this machine. The workspace
outlives a failed or killed run so that rerunning resumes where it stopped; a finished
rehearsal is started afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import git
from .config import load
from .errors import ReleaseError
from .localindex import LocalDevpi, LocalIndex
from .pipeline import Say, release_command
from .proc import run
from .secrets import register

IGNORED = shutil.ignore_patterns(".git", ".venv", ".ci-venv", ".nox", "dist", "build",
                                 ".release", "__pycache__", "*.egg-info", ".mypy_cache",
                                 ".ruff_cache", ".pytest_cache", ".hypothesis")
STAND_INS = ("testpypi", "pypi")


@dataclass(frozen=True)
class Workspace:
    path: Path

    @property
    def repo(self) -> Path:
        return self.path / "repo"

    @property
    def origin(self) -> Path:
        return self.path / "origin.git"

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    def state(self) -> dict[str, object]:
        if not self.state_file.exists():
            return {}
        loaded: dict[str, object] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return loaded

    def save(self, **values: object) -> None:
        state = {**self.state(), **values}
        self.state_file.write_text(json.dumps(state), encoding="utf-8")
        self.state_file.chmod(0o600)  # holds the local indexes' throwaway passwords


def default_workspace(source: Path) -> Path:
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"release-train-rehearsal-{digest}"


def clone_into(source: Path, ws: Workspace) -> None:
    """A clone of the source's committed state, or a copy of a directory inside a repo; and
    one for each artifact train in a checkout of its own, at the same place relative to the
    clone, each with a scratch origin."""
    _scratch_repo(source, ws.repo, ws.origin)
    for train in load(source).downstreams.values():
        assert train.repository is not None
        rel = os.path.relpath(train.repository, source.resolve())
        dest = Path(os.path.normpath(ws.repo / rel))
        if not dest.is_relative_to(ws.path) or dest == ws.path:
            raise ReleaseError(f"train {train.name}: repository {rel!r} would be outside the "
                               f"rehearsal workspace {ws.path}: keep it beside the repository")
        if train.repository.is_dir() and not dest.exists():
            _scratch_repo(train.repository, dest, ws.path / f"{dest.name}-origin.git")


def _scratch_repo(source: Path, repo: Path, origin: Path) -> None:
    """repo: a clone (or a committed copy) of source on main, pushed to a bare origin."""
    top = git.toplevel(source)
    if top is not None and top.resolve() == source.resolve():
        run(["git", "clone", "--quiet", "--no-hardlinks", str(source), str(repo)])
        run(["git", "remote", "remove", "origin"], cwd=repo)
    else:
        shutil.copytree(source, repo, ignore=IGNORED)
        run(["git", "init", "--quiet", "-b", "main"], cwd=repo)
        run(["git", "add", "-A"], cwd=repo)
        run(["git", "-c", "user.name=release-train rehearsal",
             "-c", "user.email=rehearsal@release-train.invalid", "commit", "--quiet",
             "--no-verify", "-m", "rehearsal: scratch copy"], cwd=repo)
    branch = git.current_branch(repo) or "main"
    if branch != "main":
        run(["git", "checkout", "--quiet", "-B", "main"], cwd=repo)
    for key, value in (("user.name", "release-train rehearsal"),
                       ("user.email", "rehearsal@release-train.invalid"),
                       ("commit.gpgsign", "false"), ("tag.gpgsign", "false")):
        run(["git", "config", key, value], cwd=repo)
    run(["git", "init", "--quiet", "--bare", "-b", "main", str(origin)])
    run(["git", "remote", "add", "origin", str(origin)], cwd=repo)
    run(["git", "push", "--quiet", "-u", "origin", "main"], cwd=repo)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def index_env(indexes: dict[str, LocalIndex]) -> dict[str, str]:
    """The variables that point the testpypi/pypi endpoints at local indexes."""
    env = {}
    for name, index in indexes.items():
        prefix = name.upper()
        register(index.password)
        env.update({f"{prefix}_UPLOAD_URL": index.upload_url,
                    f"{prefix}_SIMPLE_URL": index.simple_url,
                    f"{prefix}_JSON_URL": index.json_api,
                    f"{prefix}_USERNAME": index.username, f"{prefix}_TOKEN": index.password})
    return env


def rehearse(source: Path, *, workspace: Path | None = None, fresh: bool = False,
             part: str = "patch", pythons: Sequence[str] | None = None,
             platforms: Sequence[str] | None = None, say: Say = print,
             trains: Sequence[str] | None = None) -> str:
    """Run (or resume) a full rehearsal (of `trains`, default every python train); returns
    the summary. Raises ReleaseError on failure."""
    source = source.resolve()
    if not (source / "pyproject.toml").exists() and not (source / "release.toml").exists():
        raise ReleaseError(f"{source}: not a repository with a release configuration")
    config = load(source)  # refuse a broken configuration before making anything
    for name in trains or ():
        config.train(name)  # and a train it does not have
    ws = Workspace(workspace or default_workspace(source))
    started = time.monotonic()
    if fresh or ws.state().get("finished") or not ws.repo.exists():
        shutil.rmtree(ws.path, ignore_errors=True)
        ws.path.mkdir(parents=True)
        clone_into(source, ws)
        ws.save(source=str(source), finished=False)
        say(f"rehearsal workspace {ws.path} (a scratch clone of {source})")
    else:
        say(f"resuming the rehearsal in {ws.path}")
    server = LocalDevpi(ws.path / "devpi")
    with server:
        server.start()
        known = ws.state().get("indexes")
        if isinstance(known, dict) and set(known) == set(STAND_INS):
            indexes = {name: LocalIndex(data["name"], data["username"], data["password"],
                                        f"{server.url}/{data['username']}/{data['name']}")
                       for name, data in known.items()}
        else:
            indexes = {name: server.create_index(name) for name in STAND_INS}
            ws.save(indexes={n: {"name": i.name, "username": i.username,
                                 "password": i.password, "url": i.url}
                             for n, i in indexes.items()})
        with _environment(index_env(indexes)):
            summary = _run(ws, part, pythons, platforms, say, trains)
    ws.save(finished=True)
    return summary + f"\nrehearsal passed in {time.monotonic() - started:.1f} s ({ws.path})"


def _run(ws: Workspace, part: str, pythons: Sequence[str] | None,
         platforms: Sequence[str] | None, say: Say, trains: Sequence[str] | None) -> str:
    """Exactly `release-train release --part PART [--train T ...]` in the scratch clone, after
    saying which trains changed since their last release (what `invoke status` shows)."""
    from .changes import changes

    for change in changes(load(ws.repo)):
        if not trains or change.train in trains:
            say(f"{change.train}: {change.summary}")
    return release_command(ws.repo, trains or None, part, None, pythons, platforms, say)
