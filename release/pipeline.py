"""One release, step by step, journaled and resumable.

Stages run over every selected train together (one build, one upload, one install-back of
everything: faster, and the trains are verified as users will install them), and each stage is
journaled into every train's record. A rerun reads the records and starts at the first stage
not done; a finished stage never runs again with other inputs.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from . import git
from .builds import Manifest, build_trains, manifest_dir
from .bump import Plan, apply_plan, commit_message, plan_change
from .check import train_version
from .config import Config, Train, load
from .endpoints import Endpoint
from .errors import ReleaseError
from .locations import scan
from .preflight import preflight
from .pythons import Interpreter
from .record import Record
from .tagging import push_release, tag_release
from .uploads import upload
from .verify import Report, require, verify
from .versions import bump

Say = Callable[[str], None]


@dataclass
class Release:
    """What one run releases and where: trains in dependency order, their records."""

    config: Config
    trains: list[Train]
    versions: dict[str, str]  # train -> version being released
    records: dict[str, Record]
    testpypi: Endpoint
    pypi: Endpoint
    fallbacks: list[str]  # indexes after the target, for what the release itself lacks
    pythons: list[Interpreter]
    platforms: list[str]
    say: Say = print
    dist_dir: Path | None = None  # default: .release/dist (ignored: the tree stays clean)
    wait: bool = True  # wait until the index shows every file before installing it back
    deadline: float = 600.0  # seconds to wait for that
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def dist(self) -> Path:
        return self.dist_dir or self.root / ".release" / "dist"

    def manifests(self) -> list[Manifest]:
        return [Manifest.load(manifest_dir(self.dist, t.name, self.versions[t.name]))
                for t in self.python_trains]

    @property
    def python_trains(self) -> list[Train]:
        return [t for t in self.trains if t.kind == "python"]

    @property
    def final(self) -> bool:
        """Only finals and .postN go to production."""
        return all(not Version(v).is_prerelease for v in self.versions.values())


def dependency_order(config: Config, trains: Sequence[Train]) -> list[Train]:
    """Trains whose packages others pin exactly come first: their bump moves those pins, so
    the pinning train's release commit (and build) already names the new versions."""
    found = scan(config, trains)
    owner_of_file = {p.path / "pyproject.toml": t.name for t in trains for p in t.packages}
    needs: dict[str, set[str]] = {t.name: set() for t in trains}
    for spot in found.spots:
        pinning = owner_of_file.get(spot.path)
        if spot.kind == "requirement" and "==" in spot.requirement and pinning \
                and pinning != spot.train and spot.train in needs:
            needs[pinning].add(spot.train)
    ordered: list[Train] = []
    pending = list(trains)
    while pending:
        ready = [t for t in pending if needs[t.name] <= {o.name for o in ordered}] or pending[:1]
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered


def kill_point(stage: str) -> None:
    """Tests kill the pipeline at a stage boundary (a real SIGKILL, no cleanup)."""
    if os.environ.get("RELEASE_KILL_AFTER") == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def _stage(release: Release, name: str, inputs: dict[str, dict[str, Any]],
           body: Callable[[dict[str, dict[str, Any]]], None], rerun: bool = False,
           where: str | None = None) -> None:
    """Run a stage unless every train's record has it done (against `where`, the index URL
    for the stages that talk to an index; or `rerun`: checks that may be repeated, like
    verification); journal it in each record."""
    records = [release.records[t] for t in inputs]
    if records and all(r.done(name, where) for r in records) and not rerun:
        for r in records:
            r.check_inputs(name, inputs[r.train])
        release.say(f"== {name}: done before{f' on {where}' if where else ''}, skipped")
        return
    release.say(f"== {name}" + (f" ({where})" if where else ""))
    started = time.monotonic()
    for r in records:
        r.begin(name, inputs[r.train], where)
    outputs: dict[str, dict[str, Any]] = {r.train: {} for r in records}
    try:
        body(outputs)
    except BaseException as exc:
        for r in records:
            r.fail(name, str(exc) or type(exc).__name__, time.monotonic() - started)
        raise
    seconds = time.monotonic() - started
    for r in records:
        r.finish(name, outputs[r.train], seconds)
    release.timings[name] = seconds
    kill_point(name)


# --- the stages ----------------------------------------------------------------------------

def plan_versions(config: Config, trains: Sequence[Train], part: str | None,
                  to: str | None) -> dict[str, str]:
    """The version each train will release: from its record if one is in progress."""
    found = scan(config, trains)
    return {t.name: bump(train_version(found, t), part=part, to=to).text for t in trains}


def stage_preflight(release: Release) -> None:
    def body(out: dict[str, dict[str, Any]]) -> None:
        for train in release.trains:
            version = release.versions[train.name]
            lines = preflight(release.config, train, version)
            for target in (release.testpypi, release.pypi):
                with target.client() as client:
                    for pkg in train.packages:
                        if client.has_version(pkg.name, version):
                            raise ReleaseError(f"{pkg.name} {version} is already on "
                                               f"{target.name}: that version is burnt; "
                                               "release the next one")
            out[train.name]["checks"] = lines
    _stage(release, "preflight", {t.name: {"version": release.versions[t.name]}
                                  for t in release.trains}, body)


def stage_bump_and_commit(release: Release, part: str | None, to: str | None) -> None:
    """Bump and commit train by train (dependency order): each release commit sees the
    versions of the trains released before it."""
    for train in release.trains:
        record = release.records[train.name]
        version = release.versions[train.name]
        if not record.done("bump"):
            config = load(release.root)
            plan: Plan = plan_change(config, config.train(train.name), version)
            with record.running("bump", {"to": version}) as out:
                apply_plan(config, plan)
                out.update({"from": plan.old.text, "to": plan.new.text,
                            "files": [str(p) for p in plan.paths],
                            "message": commit_message(config, plan)})
            release.say(f"bumped {train.name} {plan.old} -> {plan.new} "
                        f"({len(plan.paths)} files)")
            kill_point("bump")
        if not record.done("commit"):
            bumped = record.outputs("bump")
            with record.running("commit", {"to": version}) as out:
                out["commit"] = git.commit_paths(release.root, bumped["files"], bumped["message"])
            record.set("commit", record.outputs("commit")["commit"])
            release.say(f"committed {bumped['message']}")
            kill_point("commit")


def stage_tag(release: Release) -> None:
    """Tag each train's own release commit (later trains' commits may sit on top of it),
    with the same function as `invoke tag`."""
    for train in release.trains:
        record = release.records[train.name]
        if record.done("tag"):
            continue
        version = release.versions[train.name]
        commit = str(record.data["commit"])
        with record.running("tag", {"tag": train.tag(version)}) as out:
            said = tag_release(load(release.root), train, commit=commit, version=version)
            out.update({"tag": train.tag(version), "commit": commit})
        record.set("tag", train.tag(version))
        release.say(said.splitlines()[-1])
    kill_point("tag")


def stage_push(release: Release) -> None:
    """The branch and every release tag together, atomically, with the same function as
    `invoke push`, when there is a remote."""
    branch = git.current_branch(release.root)
    remote = git.default_remote(release.root, branch) if branch else None

    def body(out: dict[str, dict[str, Any]]) -> None:
        if branch is None or remote is None:
            for train in release.trains:
                out[train.name] = {"pushed": False, "why": "no branch or no remote"}
            return
        release.say(push_release(load(release.root), branch=branch, remote=remote))
        for train in release.trains:
            out[train.name] = {"pushed": True, "remote": remote, "branch": branch}
    _stage(release, "push", {t.name: {"tag": t.tag(release.versions[t.name])}
                             for t in release.trains}, body)


def stage_build(release: Release) -> None:
    def body(out: dict[str, dict[str, Any]]) -> None:
        for train in release.python_trains:
            tag = train.tag(release.versions[train.name])
            (manifest,) = build_trains(load(release.root), [train], ref=tag,
                                       out_dir=release.dist, progress=release.say)
            _record_artifacts(release.records[train.name], manifest)
            out[train.name] = {"manifest": str(manifest.path), "commit": manifest.commit,
                               "files": len(manifest.artifacts)}
    _stage(release, "build", {t.name: {"tag": t.tag(release.versions[t.name])}
                              for t in release.python_trains}, body)


def _record_artifacts(record: Record, manifest: Manifest) -> None:
    """The record takes a manifest's files once; other files for the same release are refused."""
    now = [{"package": a.package, "version": a.version, "filename": a.filename,
            "kind": a.kind, "size": a.size, "sha256": a.sha256} for a in manifest.artifacts]
    previous = record.data.get("artifacts")
    if previous and previous != now:
        raise ReleaseError(f"{manifest.path}: these files differ from the ones the record of "
                           f"{manifest.train} {manifest.version} holds; published or verified "
                           "files are never swapped: release a new version")
    if not previous:
        record.set("artifacts", now)
        record.data.setdefault("commit", manifest.commit)
        record.save()


def adopt_manifests(release: Release) -> list[Manifest]:
    """Releases built by `nox -s build`: the record takes their files, and never new ones."""
    manifests = release.manifests()
    for manifest in manifests:
        manifest.verify()
        _record_artifacts(release.records[manifest.train], manifest)
    return manifests


def _verified_hashes(record: Record, index: Endpoint) -> set[str]:
    """The files that passed install-back from that very index (its URL, not its name)."""
    report = record.data.get("verifications", {}).get(index.name, {})
    if not report.get("ok") or not record.done(f"{index.name}-verify", index.where_simple):
        return set()
    return set(record.outputs(f"{index.name}-verify").get("sha256", []))


def check_production_rules(release: Release, manifests: Sequence[Manifest]) -> None:
    """Finals and posts only, only from their tag, only the very files TestPyPI verified."""
    for manifest in manifests:
        version = Version(manifest.version)
        if version.is_prerelease:
            raise ReleaseError(f"{manifest.train} {manifest.version} is a pre-release: it goes "
                               "to TestPyPI only; release the final (invoke bump --part "
                               "release) to publish on PyPI")
        train = release.config.train(manifest.train)
        tag = train.tag(manifest.version)
        at = git.tag_commit(release.root, tag)
        if at is None or at != manifest.commit:
            raise ReleaseError(f"{manifest.train} {manifest.version} was not built from its tag "
                               f"{tag}; build it from the tag (nox -s build -- --ref {tag})")
        verified = _verified_hashes(release.records[manifest.train], release.testpypi)
        ours = {a.sha256 for a in manifest.artifacts}
        if not ours <= verified:
            raise ReleaseError(f"{manifest.train} {manifest.version}: these files did not pass "
                               "install-back from TestPyPI (sha256 differ or not verified); "
                               "run nox -s testpypi on these very files first")


def stage_upload(release: Release, target: Endpoint) -> None:
    name = f"{target.name}-upload"

    def body(out: dict[str, dict[str, Any]]) -> None:
        manifests = release.manifests()
        if target.production:
            check_production_rules(release, manifests)
        result = upload(manifests, target, say=release.say)
        for manifest in manifests:
            mine = {a.filename for a in manifest.artifacts}
            out[manifest.train] = {"index": target.where,
                                   "uploaded": [n for n in result.uploaded if n in mine],
                                   "skipped": [n for n in result.skipped if n in mine]}
    _stage(release, name, {t.name: {"index": target.where, "files": sorted(
        a["sha256"] for a in release.records[t.name].data.get("artifacts", []))}
                           for t in release.python_trains}, body, where=target.where)


def stage_verify(release: Release, target: Endpoint, fallbacks: Sequence[str],
                 rerun: bool = False) -> Report:
    name = f"{target.name}-verify"
    holder: list[Report] = []

    def body(out: dict[str, dict[str, Any]]) -> None:
        manifests = release.manifests()
        report = verify(manifests, target, fallbacks, release.pythons, release.platforms,
                        production=target.production, wait=release.wait,
                        deadline=release.deadline, say=release.say)
        holder.append(report)
        release.say(report.table())
        for manifest in manifests:
            record = release.records[manifest.train]
            verifications = dict(record.data.get("verifications", {}))
            verifications[target.name] = {**report.to_json(), "url": target.where_simple}
            record.set("verifications", verifications)
            indexes = dict(record.data.get("indexes", {}))
            indexes[target.name] = target.where_simple
            record.set("indexes", indexes)
            out[manifest.train] = {"ok": report.ok,
                                   "sha256": sorted(a.sha256 for a in manifest.artifacts)}
        require(report)
    _stage(release, name, {t.name: {"index": target.where_simple}
                           for t in release.python_trains}, body, rerun,
           where=target.where_simple)
    return holder[0] if holder else Report(target.name, [])
