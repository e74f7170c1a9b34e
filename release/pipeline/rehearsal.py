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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from release import repo as git
from release.config import load
from release.confine import write_atomic
from release.errors import ReleaseError, os_reason
from release.lock import held
from release.pipeline.devpidata import new_password
from release.pipeline.localindex import LocalDevpi, LocalIndex
from release.pipeline.order import run_release
from release.pipeline.release import Say, prepare
from release.proc import discard, run
from release.redaction import register

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

    @property
    def lock(self) -> Path:
        return self.path / ".rehearsal.lock"

    def state(self) -> dict[str, object]:
        if not self.state_file.exists():
            return {}
        try:
            loaded = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReleaseError(f"{self.state_file}: unreadable rehearsal state ({exc}): run "
                               "the rehearsal again with --fresh") from None
        if not isinstance(loaded, dict):
            raise ReleaseError(f"{self.state_file}: not a rehearsal state: run the rehearsal "
                               "again with --fresh")
        return loaded

    def save(self, **values: object) -> None:
        """Atomically (a kill never leaves half a file), readable by us alone: it holds the
        local indexes' throwaway passwords."""
        state = {**self.state(), **values}
        write_atomic(self.state_file, json.dumps(state), mode=0o600)

    def reset(self) -> None:
        """Empty the workspace (its lock file stays: we hold it), after ending a devpi-server
        a killed run left behind on its data. What was there is moved aside at once (a
        rename) and deleted in the background: a finished rehearsal holds thousands of
        files, and the next one need not wait for them."""
        LocalDevpi(self.path / "devpi").end_leftover()
        old = [child for child in self.path.iterdir() if child != self.lock]
        if not old:
            return
        trash: Path | None = None
        try:
            trash = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.old-",
                                          dir=self.path.parent))
            for child in old:
                os.replace(child, trash / child.name)
        except OSError:  # nowhere to move it beside the workspace: delete it here, and wait
            for child in self.path.iterdir():
                if child == self.lock:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        finally:
            if trash is not None:
                discard(trash)


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
        # Object files are hard-linked where the filesystem allows (git's default for a local
        # clone, else copied): git never writes an object file again, so the scratch clone
        # cannot change the source's, and linking a repository's loose objects takes a
        # fraction of copying them.
        run(["git", "clone", "--quiet", str(source), str(repo)])
        run(["git", "remote", "remove", "origin"], cwd=repo)
    else:
        # symlinks stay symlinks (as git clones them): a dangling one is no error
        shutil.copytree(source, repo, ignore=IGNORED, symlinks=True)
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
        register(index.token)
        env.update({f"{prefix}_UPLOAD_URL": index.upload_url,
                    f"{prefix}_SIMPLE_URL": index.simple_url,
                    f"{prefix}_JSON_URL": index.json_api,
                    f"{prefix}_USERNAME": index.username, f"{prefix}_TOKEN": index.upload_password})
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
    ws = Workspace((workspace or default_workspace(source)).absolute())
    started = time.monotonic()
    ws.path.mkdir(parents=True, exist_ok=True)
    with held(ws.path, "rehearsal workspace", path=ws.lock):
        summary = _rehearse(source, ws, fresh, part, pythons, platforms, say, trains)
        ws.save(finished=True)
    return summary + f"\nrehearsal passed in {time.monotonic() - started:.1f} s ({ws.path})"


def _resuming(ws: Workspace, fresh: bool) -> bool:
    """An unfinished rehearsal of this source is there complete (a clone interrupted
    half-way is started again): resume it. Otherwise the workspace is emptied."""
    state = {} if fresh else ws.state()
    if not fresh and state.get("cloned") and not state.get("finished") and ws.repo.exists():
        return True
    ws.reset()
    return False


def _workspace(source: Path, ws: Workspace, resuming: bool, say: Say) -> None:
    """A workspace to (re)start in: a new scratch clone unless resuming."""
    if resuming:
        say(f"resuming the rehearsal in {ws.path}")
        return
    try:
        clone_into(source, ws)
    except (OSError, shutil.Error, ReleaseError) as exc:
        reason = os_reason(exc) if isinstance(exc, OSError) else _first_line(str(exc))
        raise ReleaseError(f"cannot make the rehearsal workspace {ws.path} from {source}: "
                           f"{reason}; fix that, then run the rehearsal again with --fresh") \
            from None
    ws.save(source=str(source), finished=False, cloned=True)
    say(f"rehearsal workspace {ws.path} (a scratch clone of {source})")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _indexes(ws: Workspace, server: LocalDevpi) -> dict[str, LocalIndex]:
    """The two stand-in indexes; their credentials are saved before they are created, so
    that a run killed half-way through creating them finds them again (never "user already
    exists")."""
    known = ws.state().get("indexes")
    if not (isinstance(known, dict) and set(known) == set(STAND_INS)):
        known = {name: {"name": name, "username": f"{name}-user", "password": new_password()}
                 for name in STAND_INS}
        ws.save(indexes=known)
    return {name: server.ensure_index(str(data["name"]), str(data["username"]),
                                      str(data["password"]))
            for name, data in known.items()}


def _rehearse(source: Path, ws: Workspace, fresh: bool, part: str,
              pythons: Sequence[str] | None, platforms: Sequence[str] | None, say: Say,
              trains: Sequence[str] | None) -> str:
    resuming = _resuming(ws, fresh)
    server = LocalDevpi(ws.path / "devpi")
    with server:
        with ThreadPoolExecutor(max_workers=1) as pool:
            starting = pool.submit(server.start)  # its start-up (~1.5 s) beside the clone
            _workspace(source, ws, resuming, say)
            starting.result()
        indexes = _indexes(ws, server)
        with _environment(index_env(indexes)):
            return _run(ws, part, pythons, platforms, say, trains)


def _run(ws: Workspace, part: str, pythons: Sequence[str] | None,
         platforms: Sequence[str] | None, say: Say, trains: Sequence[str] | None) -> str:
    """Exactly `release-train release --part PART [--train T ...]` in the scratch clone, after
    saying which trains changed since their last release (what `invoke status` shows)."""
    from release.versions.changes import changes

    for change in changes(load(ws.repo)):
        if not trains or change.train in trains:
            say(f"{change.train}: {change.summary}")
    with held(ws.repo):
        return run_release(prepare(ws.repo, trains or None, part, None, pythons, platforms, say))
