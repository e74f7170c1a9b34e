"""The nox sessions' adapters: `build`, the index sessions (`testpypi`, `pypi`, `verify`),
`report` and `rehearse`. `release.sessions` parses each session's arguments and calls one of
these; each releases the versions the files carry now, with the same stages a release runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from release.config import Config, Train, load
from release.errors import BuildError, ReleaseError
from release.pipeline.release import (
    Release,
    Say,
    assemble,
    current_versions,
    fallbacks_for,
    select_trains,
)
from release.pipeline.stages.publish import (
    adopt_manifests,
    check_production_rules,
    latest_index,
    stage_upload,
)
from release.pipeline.stages.verification import (
    platform_report_of,
    stage_smoke,
    stage_verify,
    stage_visible,
    verification_on,
)
from release.publish.endpoints import Endpoint


def _python_trains(config: Config, names: Sequence[str] | None) -> list[Train]:
    """The trains to build: those named (python trains only), else every python train."""
    if names:
        trains = [config.train(name) for name in names]
        for train in trains:
            if train.kind != "python":
                raise BuildError(f"train {train.name!r} is an artifact train: it has nothing "
                                 "to build")
        return trains
    trains = [t for t in config.trains.values() if t.kind == "python"]
    if not trains:
        raise BuildError("no python train to build")
    return trains


def run_build(repo: Path, trains: Sequence[str] | None, ref: str, out: Path | None, *,
              rebuild: bool, reproducible: bool, fresh_envs: bool, jobs: int | None) -> str:
    """`nox -s build`: one line per train built (or its uploaded files reused)."""
    from release.pipeline.published import build as build_or_reuse

    config = load(repo)
    outcomes = build_or_reuse(config, _python_trains(config, trains), ref, out,
                              rebuild=rebuild, reproducible=reproducible,
                              fresh_envs=fresh_envs, jobs=jobs)
    return "\n".join(outcome.line for outcome in outcomes)


@dataclass(frozen=True)
class IndexOptions:
    """What an index session (testpypi, pypi, verify) was asked."""

    session: str
    repo: Path
    trains: Sequence[str] | None = None
    dist: Path | None = None  # where nox -s build put <train>-<version>/ (default <repo>/dist)
    pythons: Sequence[str] | None = None  # --python, when called outside nox
    platforms: Sequence[str] | None = None
    wait: float = 600.0  # seconds to wait for the index (0: do not wait)
    json: Path | None = None  # also write the platform x Python table here
    upload_only: bool = False
    python: str | None = None  # the Python nox parametrized this session with (verify-3.12)
    interpreter: str | None = None  # the interpreter nox resolved for it


def index_release(options: IndexOptions) -> Release:
    """A Release of the versions the files carry, verified on the session's Python: under
    nox the one interpreter nox resolved; called directly (tests, scripts) --python, else
    every configured Python."""
    from release.verify.interpreters import resolved

    if options.pythons and options.python:
        raise ReleaseError(f"this session runs on Python {options.python} (nox -s "
                           f"{options.session}-{options.python}); choose Pythons with nox "
                           f"itself: nox -s {options.session} -p {options.pythons[0]}")
    config = load(options.repo)
    trains = select_trains(config, options.trains)
    nox_given = bool(options.python and options.interpreter)
    release = assemble(config, trains, current_versions(config, trains),
                       [] if options.upload_only or nox_given else options.pythons,
                       options.platforms)
    if nox_given and not options.upload_only:
        release.pythons = [resolved(str(options.python), Path(str(options.interpreter)))]
    # absolute, not resolved: a symlinked <repo>/dist must still be seen (and refused) as one
    release.dist_dir = (options.dist or config.root / "dist").absolute()
    release.wait, release.deadline = options.wait > 0, options.wait
    return release


def write_report(release: Release, target: Endpoint, json_path: Path | None) -> None:
    """Write the platform x Python table of the target's verification as JSON."""
    if json_path is None:
        return
    from release.verify.report import report_rows

    seen = verification_on(release, target)
    data = {"index": target.name, "url": target.where_simple,
            "releases": seen.get("releases", []), "ok": bool(seen.get("ok")),
            "rows": report_rows(seen, release.platforms, release.config.pythons)}
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8", newline="\n")


def run_index_session(options: IndexOptions, production: bool) -> None:
    """`nox -s testpypi` / `nox -s pypi`: upload once (production: only what the rules
    allow), then wait (--upload-only), or install back, report and smoke."""
    release = index_release(options)
    target = release.pypi if production else release.testpypi
    manifests = adopt_manifests(release)
    if production:
        check_production_rules(release, manifests)
    stage_upload(release, target)  # once: the session of the next Python finds it done
    if options.upload_only:
        stage_visible(release, target)
        return
    try:
        stage_verify(release, target, fallbacks_for(release, target))
    finally:
        write_report(release, target, options.json)
    stage_smoke(release, target)


def run_verify(options: IndexOptions, say: Say = print) -> None:
    """`nox -s verify`: verify again on the latest index the records show the release
    reached."""
    release = index_release(options)
    target = latest_index(release)
    say(f"verifying on {target.name} ({target.where_simple}): the latest index the release "
        "records show " + ", ".join(f"{t.name} {release.versions[t.name]}"
                                    for t in release.python_trains) + " reached")
    adopt_manifests(release)
    try:
        stage_verify(release, target, fallbacks_for(release, target), rerun=True)
    finally:
        write_report(release, target, options.json)


def run_report(repo: Path, trains: Sequence[str] | None, merge: Sequence[Path],
               json_path: Path | None, say: Say = print) -> None:
    """`nox -s report`: merge other jobs' records into this checkout's; say the platform x
    Python table of the latest index (and write its JSON)."""
    from release.record import merge_records

    config = load(repo)
    for line in merge_records(config.root, merge):
        say(line)
    chosen = select_trains(config, trains)
    release = assemble(config, chosen, current_versions(config, chosen), pythons=[],
                       platforms=None)
    target = latest_index(release)
    say(platform_report_of(release, target))
    write_report(release, target, json_path)


def run_rehearse(repo: Path, *, workspace: Path | None, fresh: bool, part: str,
                 pythons: Sequence[str] | None, platforms: Sequence[str] | None,
                 trains: Sequence[str] | None) -> str:
    """`nox -s rehearse`: the whole release on a scratch clone, against local indexes."""
    from release.pipeline.rehearsal import rehearse

    return rehearse(repo, workspace=workspace, fresh=fresh, part=part, pythons=pythons,
                    platforms=platforms, trains=trains)
