"""`nox -s rehearse`: the whole release, end to end, on a scratch clone against local indexes.

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
from .config import Config, load
from .endpoints import endpoint
from .errors import ReleaseError
from .localindex import LocalDevpi, LocalIndex
from .pipeline import (
    Release,
    Say,
    dependency_order,
    kill_point,
    plan_versions,
    stage_build,
    stage_bump_and_commit,
    stage_preflight,
    stage_push,
    stage_tag,
    stage_upload,
    stage_verify,
)
from .proc import run
from .pythons import find_all
from .record import Record, all_records
from .record import load as load_record
from .secrets import register
from .verify import Report

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


def _clone(source: Path, ws: Workspace) -> None:
    """A clone of the source's committed state, or a copy of a directory inside a repo."""
    top = git.toplevel(source)
    if top is not None and top.resolve() == source.resolve():
        run(["git", "clone", "--quiet", "--no-hardlinks", str(source), str(ws.repo)])
        run(["git", "remote", "remove", "origin"], cwd=ws.repo)
    else:
        shutil.copytree(source, ws.repo, ignore=IGNORED)
        run(["git", "init", "--quiet", "-b", "main"], cwd=ws.repo)
        run(["git", "add", "-A"], cwd=ws.repo)
        run(["git", "-c", "user.name=release-train rehearsal",
             "-c", "user.email=rehearsal@release-train.invalid", "commit", "--quiet",
             "--no-verify", "-m", "rehearsal: scratch copy"], cwd=ws.repo)
    branch = git.current_branch(ws.repo) or "main"
    if branch != "main":
        run(["git", "checkout", "--quiet", "-B", "main"], cwd=ws.repo)
    for key, value in (("user.name", "release-train rehearsal"),
                       ("user.email", "rehearsal@release-train.invalid"),
                       ("commit.gpgsign", "false"), ("tag.gpgsign", "false")):
        run(["git", "config", key, value], cwd=ws.repo)
    run(["git", "init", "--quiet", "--bare", str(ws.origin)])
    run(["git", "remote", "add", "origin", str(ws.origin)], cwd=ws.repo)
    run(["git", "push", "--quiet", "-u", "origin", "main"], cwd=ws.repo)


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


def _in_progress(root: Path, config: Config) -> dict[str, Record]:
    return {r.train: r for r in all_records(root)
            if r.train in config.trains and r.next_step() is not None}


def rehearse(source: Path, *, workspace: Path | None = None, fresh: bool = False,
             part: str = "patch", pythons: Sequence[str] | None = None,
             platforms: Sequence[str] | None = None, say: Say = print) -> str:
    """Run (or resume) a full rehearsal; returns the summary. Raises ReleaseError on failure."""
    source = source.resolve()
    if not (source / "pyproject.toml").exists() and not (source / "release.toml").exists():
        raise ReleaseError(f"{source}: not a repository with a release configuration")
    load(source)  # refuse a broken configuration before making anything
    ws = Workspace(workspace or default_workspace(source))
    started = time.monotonic()
    if fresh or ws.state().get("finished") or not ws.repo.exists():
        shutil.rmtree(ws.path, ignore_errors=True)
        ws.path.mkdir(parents=True)
        _clone(source, ws)
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
            summary = _run(ws, part, pythons, platforms, say)
    ws.save(finished=True)
    return summary + f"\nrehearsal passed in {time.monotonic() - started:.1f} s ({ws.path})"


def _run(ws: Workspace, part: str, pythons: Sequence[str] | None,
         platforms: Sequence[str] | None, say: Say) -> str:
    config = load(ws.repo)
    python_trains = dependency_order(config, [t for t in config.trains.values()
                                              if t.kind == "python"])
    if not python_trains:
        raise ReleaseError("no python train to rehearse")
    ongoing = _in_progress(ws.repo, config)
    if ongoing:
        versions = {t.name: ongoing[t.name].version for t in python_trains if t.name in ongoing}
    else:
        versions = plan_versions(config, python_trains, part, None)
    records = {t.name: load_record(ws.repo, t.name, versions[t.name]) for t in python_trains}
    release = Release(
        config=config, trains=python_trains, versions=versions, records=records,
        testpypi=endpoint(config, "testpypi"), pypi=endpoint(config, "pypi"),
        fallbacks=[], pythons=find_all(tuple(pythons or config.pythons),
                                       config.optional_pythons),
        platforms=list(platforms if platforms is not None else config.platforms), say=say)
    # Third-party dependencies (none in the example) come from PyPI, after both stand-ins.
    testpypi_fallbacks = [release.pypi.simple_url, "https://pypi.org/simple/"]
    stage_preflight(release)
    stage_bump_and_commit(release, None, None)
    stage_tag(release)
    stage_push(release)
    stage_build(release)
    stage_upload(release, release.testpypi)
    test_report = stage_verify(release, release.testpypi, testpypi_fallbacks)
    prod_report = None
    if release.final:
        stage_upload(release, release.pypi)
        prod_report = stage_verify(release, release.pypi, ["https://pypi.org/simple/"])
    downstream = stage_downstream(release)
    notes = stage_notes(release)
    return summarize(release, [test_report, prod_report], downstream, notes)


def stage_downstream(release: Release) -> list[str]:
    """Artifact trains that pin a released train move to it, after PyPI verification."""
    from .downstream import pin_downstream
    from .tagging import push_release, tag_release

    lines: list[str] = []
    released = {t.name for t in release.trains}
    config = load(release.root)
    pinning = [t for t in config.trains.values()
               if t.kind == "artifact" and {p.train for p in t.pins} & released]
    for record in release.records.values():
        if record.done("downstream"):
            continue
        with record.running("downstream", {}) as out:
            if not release.final:
                out["skipped"] = "pre-releases are not pinned downstream"
                continue
            for artifact in pinning:
                if record.train in {p.train for p in artifact.pins}:
                    text = pin_downstream(load(release.root), artifact.name, commit=True)
                    fresh = load(release.root)
                    if not text.startswith(f"{artifact.name} already pins"):
                        text += "\n" + tag_release(fresh, fresh.train(artifact.name))
                        text += "\n" + push_release(fresh)
                    out[artifact.name] = text.splitlines()
                    lines.append(text)
    kill_point("downstream")
    return lines


def stage_notes(release: Release) -> list[str]:
    from .notes import write_notes

    written = []
    for train in release.trains:
        record = release.records[train.name]
        if record.done("notes"):
            written.append(str(record.outputs("notes").get("path", "")))
            continue
        with record.running("notes", {}) as out:
            path = write_notes(release.root, train.name, release.versions[train.name])
            out["path"] = str(path)
            written.append(str(path))
    return written


def summarize(release: Release, reports: Sequence[Report | None], downstream: list[str],
              notes: list[str]) -> str:
    lines = ["", "rehearsal summary"]
    for train in release.trains:
        record = release.records[train.name]
        steps = record.data.get("steps", {})
        timed = ", ".join(f"{name} {step.get('seconds', 0):.1f}s" for name, step in steps.items()
                          if step.get("status") == "done")
        lines.append(f"  {train.name} {release.versions[train.name]}: {timed}")
    for report in reports:
        if report is not None:
            lines.append(report.table())
    lines += [f"  downstream: {line}" for text in downstream for line in text.splitlines()[-2:]]
    lines += [f"  notes: {path}" for path in notes]
    return "\n".join(lines)
