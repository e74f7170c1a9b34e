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

from release import repo as git
from release.build.frontend import build_trains
from release.build.manifest import Manifest, manifest_dir, mismatch
from release.config import Config, Train, load
from release.errors import ReleaseError
from release.git.preflight import preflight
from release.git.tagging import push_release, tag_release
from release.lock import first_root, held, locked
from release.platforms import host_platform, installed_ok, merge_verification
from release.publish.endpoints import Endpoint, endpoint
from release.publish.uploads import upload
from release.record import STEPS, Record, all_records
from release.record import load as load_record
from release.verify.crosspins import Sources, cross_train_pins, locate, package_trains
from release.verify.interpreters import Interpreter, find_all
from release.verify.report import (
    Report,
    platform_report,
    require,
    verify,
    wheels_of,
)
from release.versions.agreement import train_version
from release.versions.pep440 import bump
from release.versions.plan import Plan, apply_plan, commit_message, dependency_order, plan_change
from release.versions.scan import scan

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
    via_ci: bool = False  # stop after the push: the tag's GitHub Actions run publishes
    timings: dict[str, float] = field(default_factory=dict)
    require_index_check: bool = False  # an index that cannot be asked refuses the release

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def dist(self) -> Path:
        return self.dist_dir or self.root / ".release" / "dist"

    def manifests(self) -> list[Manifest]:
        """The built files, proven: each file on disk as its manifest says, each manifest as
        the record says (a record, a manifest or a file edited after the build is refused)."""
        found = self.built()
        for manifest in found:
            require_agreement(self.records[manifest.train], manifest)
        return found

    def built(self) -> list[Manifest]:
        """The manifests in the dist directory, each file on disk as its manifest says."""
        found = [Manifest.load(manifest_dir(self.dist, t.name, self.versions[t.name]))
                 for t in self.python_trains]
        for manifest in found:
            manifest.verify()
        return found

    @property
    def python_trains(self) -> list[Train]:
        return [t for t in self.trains if t.kind == "python"]

    @property
    def final(self) -> bool:
        """Only finals and .postN go to production."""
        return all(not Version(v).is_prerelease for v in self.versions.values())


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
    with held(release.root):
        _run_stage(release, name, inputs, body, rerun, where)


def _run_stage(release: Release, name: str, inputs: dict[str, dict[str, Any]],
               body: Callable[[dict[str, dict[str, Any]]], None], rerun: bool,
               where: str | None) -> None:
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
    """Every check, version availability on both indexes included, runs before the record
    is written: a refusal leaves nothing behind."""
    from release.publish.availability import check_available

    checked: dict[str, list[str]] = {}
    if not all(release.records[t.name].done("preflight") for t in release.trains):
        for train in release.trains:
            version = release.versions[train.name]
            lines = preflight(release.config, train, version)
            lines += check_available(train, version, (release.testpypi, release.pypi),
                                     release.require_index_check)
            for line in lines:
                if line.startswith("warning:"):
                    release.say(line)
            if release.via_ci:
                lines += [f"ci: {line}" for line in ci_preflight(release, train)]
            checked[train.name] = lines

    def body(out: dict[str, dict[str, Any]]) -> None:
        for train in release.trains:
            out[train.name]["checks"] = checked[train.name]
    _stage(release, "preflight", {t.name: {"version": release.versions[t.name]}
                                  for t in release.trains}, body)


def stage_confirm(release: Release) -> None:
    """Manual checkpoints (`confirm`): the release waits until `release-train ack TEXT`."""
    from release.pipeline.gates import check_acks, required

    gates_of = {t.name: required(release.config, [t]) for t in release.trains}

    def body(out: dict[str, dict[str, Any]]) -> None:
        acks = check_acks([release.records[t.name] for t in release.trains], gates_of)
        for train in release.trains:
            out[train.name] = {"acks": acks[train.name]}
    _stage(release, "confirm", {t.name: {"confirm": list(gates_of[t.name].confirm)}
                                for t in release.trains}, body)


def stage_gates(release: Release) -> None:
    """The checks on a clean worktree of the last release commit, before it is tagged; a
    check that passed on that commit is not run again."""
    from release.pipeline.gates import passed_before, pending, require, required, run_gates

    gates = required(release.config, release.trains)
    records = [release.records[t.name] for t in release.trains]
    commit = str(records[-1].require("commit"))
    done = passed_before([r for rec in records for r in rec.data.get("gates", [])], commit)

    def body(out: dict[str, dict[str, Any]]) -> None:
        results = run_gates(release.config, gates, commit, done, release.say)
        for record in records:
            record.set("gates", [*record.data.get("gates", []), *results])
            out[record.train] = {"commit": commit, "checks": len(gates.checks),
                                 "passed before": len(done & {r["command"] for r in results})
                                 or len(done), "ran": len(results)}
        for result in results:
            require(result)
    _stage(release, "gates", {t.name: {"commit": commit} for t in release.trains}, body,
           rerun=bool(pending(gates, done)))


def stage_bump_and_commit(release: Release, part: str | None, to: str | None) -> None:
    """Bump and commit train by train (dependency order): each release commit sees the
    versions of the trains released before it."""
    for train in release.trains:
        record = release.records[train.name]
        version = release.versions[train.name]
        if not record.done("bump"):
            _undo_interrupted_bump(release, record)
            config = load(release.root)
            plan: Plan = plan_change(config, config.train(train.name), version)
            record.set("bump-paths", [str(p) for p in plan.paths])  # before a byte changes
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


def _undo_interrupted_bump(release: Release, record: Record) -> None:
    """A bump killed half-way left some of its files bumped, some not (each file whole):
    put the files it was writing back as the commit has them, so that it is planned and
    applied again from one version. Only the files the record names, only while the bump
    is unfinished (the release began on a clean tree: these edits are the bump's own)."""
    status = record.data.get("steps", {}).get("bump", {}).get("status")
    paths = record.data.get("bump-paths")
    if status not in ("running", "failed") or not isinstance(paths, list) or not paths:
        return
    changed = set(git.status(release.root, [str(p) for p in paths]))
    if changed:
        git.git(release.root, "checkout", "HEAD", "--", *map(str, paths),
                what="git checkout (undo an interrupted bump)")
        release.say(f"{record.train}: an interrupted bump was undone ({len(paths)} files as "
                    "committed); bumping again")


def stage_tag(release: Release) -> None:
    """Tag each train's own release commit (later trains' commits may sit on top of it),
    with the same function as `invoke tag`."""
    for train in release.trains:
        record = release.records[train.name]
        if record.done("tag"):
            continue
        version = release.versions[train.name]
        commit = str(record.require("commit"))
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
                                       out_dir=release.dist, progress=release.say,
                                       prepare=_before_build(release, train))
            _record_artifacts(release.records[train.name], manifest, release.say)
            kill_point(f"build:{train.name}")
            out[train.name] = {"manifest": str(manifest.path), "commit": manifest.commit,
                               "files": len(manifest.artifacts)}
    _stage(release, "build", {t.name: {"tag": t.tag(release.versions[t.name])}
                              for t in release.python_trains}, body)


def _before_build(release: Release, train: Train) -> Callable[[Path, str], None] | None:
    """The before-build commands, run in the build's own worktree (journaled with the gates)."""
    from release.pipeline.gates import prepare, require, required

    gates = required(release.config, [train])
    if not gates.before_build:
        return None

    def run(tree: Path, commit: str) -> None:
        record = release.records[train.name]
        results = prepare(release.config, gates, tree, commit, release.say)
        record.set("gates", [*record.data.get("gates", []), *results])
        for result in results:
            require(result)
    return run


def _artifacts_of(manifest: Manifest) -> list[dict[str, Any]]:
    return [{"package": a.package, "version": a.version, "filename": a.filename,
             "kind": a.kind, "size": a.size, "sha256": a.sha256} for a in manifest.artifacts]


def binding(record: Record) -> bool:
    """Whether the record's files are the release's for good: a build that finished, or any
    upload begun (a file may be on an index). Files of a build killed half-way, never sent
    anywhere, bind nothing: a rerun builds again and the record takes the new files."""
    steps = record.data.get("steps", {})
    return record.done("build") or bool(record.data.get("verifications")) or any(
        name.endswith("-upload") and step.get("status") != "pending"
        for name, step in steps.items())


def require_agreement(record: Record, manifest: Manifest) -> None:
    """The record's files are the manifest's (name, size, sha256), or one line naming the
    first that differs."""
    previous = record.data.get("artifacts")
    if not previous:
        return
    if not isinstance(previous, list) or not all(isinstance(a, dict) for a in previous):
        raise ReleaseError(f"{record.path}: damaged release record (artifacts); nothing was "
                           "done: restore it")
    now = _artifacts_of(manifest)
    if previous == now:
        return
    theirs = {str(a.get("filename")): a for a in previous}
    for artifact in now:
        kept = theirs.get(artifact["filename"])
        if kept is None:
            what = f"{artifact['filename']} is not in the record"
        elif kept.get("sha256") != artifact["sha256"]:
            what = f"{artifact['filename']}: " + mismatch(
                "the record", str(kept.get("sha256")), artifact["sha256"])
        elif kept != artifact:
            what = f"{artifact['filename']}: the record holds other details ({kept})"
        else:
            continue
        break
    else:
        what = "the record holds other files"
    raise ReleaseError(f"{record.path} and {manifest.path} disagree: {what}; the record, the "
                       "manifest and the files must agree (none is edited after the build): "
                       "restore the one that was changed; published or verified files are "
                       "never swapped: release a new version to change them")


def _record_artifacts(record: Record, manifest: Manifest, say: Say | None = None) -> None:
    """The record takes a manifest's files once they bind (see `binding`); other files for
    the same release are refused."""
    previous = record.data.get("artifacts")
    if previous and binding(record):
        require_agreement(record, manifest)
        return
    if previous and previous != _artifacts_of(manifest) and say is not None:
        say(f"{manifest.train} {manifest.version}: the files of an earlier build were never "
            "uploaded: the record takes the new build's")
    record.set("artifacts", _artifacts_of(manifest))
    record.set("commit", record.data.get("commit") or manifest.commit)


def adopt_manifests(release: Release) -> list[Manifest]:
    """Releases built by `nox -s build`: the record takes their files, and never new ones."""
    manifests = release.built()
    for manifest in manifests:
        _record_artifacts(release.records[manifest.train], manifest, release.say)
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
        result = upload(manifests, target, say=release.say,
                        concurrency=release.config.upload_concurrency)
        for manifest in manifests:
            mine = {a.filename for a in manifest.artifacts}
            out[manifest.train] = {"index": target.where,
                                   "uploaded": [n for n in result.uploaded if n in mine],
                                   "skipped": [n for n in result.skipped if n in mine]}
    _stage(release, name, {t.name: {"index": target.where, "files": sorted(
        a["sha256"] for a in release.records[t.name].data.get("artifacts", []))}
                           for t in release.python_trains}, body, where=target.where)


def latest_index(release: Release) -> Endpoint:
    """The index every selected release reached last, by its records: PyPI after its
    upload there, else TestPyPI; nowhere is an error naming the step to run."""
    for target in (release.pypi, release.testpypi):
        if all(release.records[t.name].done(f"{target.name}-upload", target.where)
               for t in release.python_trains):
            return target
    what = ", ".join(f"{t.name} {release.versions[t.name]}" for t in release.python_trains)
    raise ReleaseError(f"{what}: the release records show no upload to {release.testpypi.name} "
                       f"({release.testpypi.where}) nor to {release.pypi.name}: nothing to "
                       "verify; upload it first (nox -s testpypi)")


def install_sources(release: Release, target: Endpoint, fallbacks: Sequence[str],
                    manifests: Sequence[Manifest]) -> Sources:
    """Where install-back finds the release (the target) and the other trains' exact
    releases it pins: the target, else production when they are published there; neither is
    a one-line error naming the train to release first."""
    pins = cross_train_pins(wheels_of(manifests), package_trains(release.config))
    return locate(pins, target, None if target.production else release.pypi, fallbacks)


def _verification(release: Release, target: Endpoint) -> dict[str, Any]:
    """What the records show verified on the target's URL so far (any train's record: the
    stage writes the same verification into each)."""
    for train in release.python_trains:
        found = release.records[train.name].data.get("verifications", {}).get(target.name)
        if found and found.get("url") == target.where_simple:
            return dict(found)
    return {}


def _files(release: Release) -> list[str]:
    return sorted(a["sha256"] for t in release.python_trains
                  for a in release.records[t.name].data.get("artifacts", []))


def verified_before(release: Release, target: Endpoint) -> bool:
    """Every Python of this run already passed install-back on this machine's platform
    against the target URL, with these files: one session per Python (`nox -s testpypi`
    runs testpypi-3.11, -3.12, ...) never redoes another's work."""
    done = all(release.records[t.name].done(f"{target.name}-verify", target.where_simple)
               for t in release.python_trains)
    seen = _verification(release, target)
    here = host_platform(release.platforms)
    return done and bool(release.pythons) and seen.get("files") == _files(release) and all(
        installed_ok(seen, here, p.wanted) for p in release.pythons)


def platform_report_of(release: Release, target: Endpoint) -> str:
    """The platform x Python table of everything the records show verified on the target."""
    return platform_report(target.name, _verification(release, target), release.platforms,
                           release.config.pythons)


def stage_verify(release: Release, target: Endpoint, fallbacks: Sequence[str],
                 rerun: bool = False) -> Report:
    name = f"{target.name}-verify"
    holder: list[Report] = []
    if not rerun and verified_before(release, target):
        release.say(f"== {name}: done before on {target.where_simple} for Python "
                    + ", ".join(p.wanted for p in release.pythons) + ", skipped")
        return Report(target.name, [])
    before = _verification(release, target)
    # One wait per index and set of files: a later session (another Python) finds them shown.
    seen = before.get("files") == _files(release) and before.get("waited") is not None

    def body(out: dict[str, dict[str, Any]]) -> None:
        manifests = release.manifests()
        sources = install_sources(release, target, fallbacks, manifests)
        report = verify(manifests, target, sources.indexes[1:], release.pythons,
                        release.platforms, production=target.production,
                        wait=release.wait and not seen, deadline=release.deadline,
                        say=release.say, find_links=sources.find_links)
        holder.append(report)
        release.say(report.table())
        now = {**report.to_json(), "url": target.where_simple, "files": _files(release)}
        merged = merge_verification(before, now)
        for manifest in manifests:
            record = release.records[manifest.train]
            verifications = dict(record.data.get("verifications", {}))
            verifications[target.name] = merged
            record.set("verifications", verifications)
            indexes = dict(record.data.get("indexes", {}))
            indexes[target.name] = target.where_simple
            record.set("indexes", indexes)
            out[manifest.train] = {"ok": merged["ok"],
                                   "sha256": sorted(a.sha256 for a in manifest.artifacts)}
        release.say(platform_report_of(release, target))
        require(report)
    _stage(release, name, {t.name: {"index": target.where_simple}
                           for t in release.python_trains}, body, rerun=True,
           where=target.where_simple)
    return holder[0] if holder else Report(target.name, [])


def stage_visible(release: Release, target: Endpoint) -> float:
    """Wait once until the target shows every file of the release (the uploading CI job, so
    verify jobs on other runners need not); the record keeps it for the sessions after."""
    from release.publish.visibility import wait_until_visible
    from release.verify.report import expected_files

    before = _verification(release, target)
    if before.get("files") == _files(release) and before.get("waited") is not None:
        return float(before["waited"])
    with target.client() as client:
        waited = wait_until_visible(client, expected_files(release.manifests()),
                                    deadline=release.deadline, say=release.say)
    now = {"index": target.name, "url": target.where_simple, "files": _files(release),
           "releases": [f"{t.name} {release.versions[t.name]}" for t in release.python_trains],
           "waited": waited, "pythons": [], "platforms": [], "pin_problems": [], "ok": False}
    merged = merge_verification(before, now)
    for train in release.python_trains:
        record = release.records[train.name]
        record.set("verifications", {**record.data.get("verifications", {}),
                                     target.name: merged})
    release.say(f"{target.name}: every file visible after {waited:.1f} s")
    return waited


def stage_smoke(release: Release, target: Endpoint) -> None:
    """The artifact trains' smoke commands against the index just verified (release.smoke)."""
    from release.verify.smoke import planned, run_all

    runs = planned(release.config, release.versions)
    if not runs:
        return
    pinned = sorted({r.pinned for r in runs})

    def body(out: dict[str, dict[str, Any]]) -> None:
        results = run_all(release.config, runs, target.name, target.simple_url,
                          release.pypi.simple_url, release.say)
        for name in pinned:
            out[name] = {"runs": [r for r, s in zip(results, runs, strict=True)
                                  if s.pinned == name]}
    _stage(release, f"{target.name}-smoke", {n: {"index": target.where_simple, "specs": sorted(
        r.spec for r in runs if r.pinned == n)} for n in pinned}, body,
        where=target.where_simple)


# --- handing off to CI (release --via-ci) ---------------------------------------------------

def _ci_workflow(release: Release) -> tuple[str, str, dict[str, Any]]:
    """The workflow file init-ci writes for this release, its environment, its data."""
    from release.workflows import FINAL_WORKFLOW, RC_WORKFLOW, default_install, release_candidate
    from release.workflows import release as final_workflow

    spec = default_install(release.config)
    if release.final:
        return FINAL_WORKFLOW, "pypi", final_workflow(release.config, spec)
    return RC_WORKFLOW, "testpypi", release_candidate(release.config, spec)


def ci_preflight(release: Release, train: Train) -> list[str]:
    """--via-ci: a token, a GitHub repository, a tag that can be pushed, and the workflow,
    environment and tag pattern trusted publishing was registered with (what init-ci wrote)."""
    from release.announce.github import repository, token
    from release.workflows import WORKFLOWS_DIR, _scalar, tag_patterns

    token()
    owner, name = repository(release.root)
    workflow, environment, data = _ci_workflow(release)
    rel = WORKFLOWS_DIR / workflow
    path = release.root / rel
    if not path.is_file():
        raise ReleaseError(f"{rel} does not exist: write it with invoke init-ci, commit and "
                           "push it, register it as the trusted publisher, then release --via-ci")
    text = path.read_text(encoding="utf-8")
    wanted = [f"environment: {environment}", "id-token: write"]
    wanted += [f"- {_scalar(p)}" for p in data["on"]["push"]["tags"]
               if p in tag_patterns(train) or train.tag_format.split("{")[0] in p]
    missing = [w for w in wanted if w not in text]
    if missing:
        raise ReleaseError(f"{rel} is not what init-ci writes for trusted publishing of "
                           f"{train.name} (no {missing[0].removeprefix('- ')!r}): run invoke "
                           "init-ci --force, commit and push it, and check the trusted "
                           "publisher on the index names it")
    branch = git.current_branch(release.root)
    remote = git.default_remote(release.root, branch) if branch else None
    if branch is None or remote is None:
        raise ReleaseError("--via-ci pushes the tag: check out a branch that has a remote")
    probe = git.run_git(release.root, "push", "--dry-run", "--porcelain", remote,
                        f"HEAD:refs/heads/{branch}")
    if probe.returncode != 0:
        raise ReleaseError(f"cannot push to {remote} ({git.reason(probe)}): the tag could not "
                           "reach CI")
    return [f"GitHub repository {owner}/{name}, token set", f"{rel}: environment "
            f"{environment}, trusted publishing, {train.name}'s tags", f"{remote} accepts a push"]


def stage_ci(release: Release, poll: float | None = None,
             timeout: float | None = None) -> None:
    """Wait for the Actions run each pushed tag started; record its conclusion, the index
    URL of every file, its logs (.release/ci/); attach the built files to the GitHub
    release. A successful final release workflow verified the files on PyPI."""
    from release.announce.github import Actions, api_base, publish, repository, token
    from release.announce.notes import gather, render_sources, today
    from release.record import private_dir

    poll = float(os.environ.get("RELEASE_CI_POLL", "10")) if poll is None else poll
    timeout = float(os.environ.get("RELEASE_CI_TIMEOUT", "3600")) if timeout is None \
        else timeout
    secret = token()
    owner, name = repository(release.root)
    workflow, _, _ = _ci_workflow(release)
    target = release.pypi if release.final else release.testpypi

    def wait(actions: Actions, tag: str, sha: str) -> Any:
        ends = time.monotonic() + timeout
        run = actions.find_run(workflow, sha)
        while run is None or run.status != "completed":
            if time.monotonic() > ends:
                raise ReleaseError(f"no finished {workflow} run for {tag} after {timeout:.0f} s"
                                   + (f" ({run.url})" if run else "") + ": run again to go "
                                   "on waiting")
            time.sleep(poll)
            if run is None:
                run = actions.find_run(workflow, sha)
                if run is not None:
                    release.say(f"CI run for {tag}: {run.url}")
            else:
                run = actions.run(run.id)
        return run

    def body(out: dict[str, dict[str, Any]]) -> None:
        manifests = {m.train: m for m in release.manifests()}
        with Actions(api_base(), owner, name, secret) as actions:
            for train in release.python_trains:
                version = release.versions[train.name]
                record, tag = release.records[train.name], train.tag(version)
                run = wait(actions, tag, str(git.tag_commit(release.root, tag)))
                logs_dir = private_dir(release.root) / "ci"
                logs_dir.mkdir(exist_ok=True)
                logs = actions.logs(run.id, logs_dir / f"{train.name}-{version}-run-{run.id}.zip")
                manifest = manifests[train.name]
                with target.client() as client:
                    listed = {f.filename: f.url for p in train.packages
                              for f in client.files(p.name)}
                files = {a.filename: listed.get(a.filename) for a in manifest.artifacts}
                ci = {"workflow": workflow, "run": run.id, "url": run.url,
                      "conclusion": run.conclusion, "logs": str(logs), "files": files}
                record.set("ci", ci)
                release.say(f"CI run {run.url} for {tag}: {run.conclusion}; logs: {logs}")
                if run.conclusion != "success":
                    raise ReleaseError(f"the CI run for {tag} ended {run.conclusion} ({run.url}); "
                                       f"its logs are in {logs}")
                absent = [n for n, url in files.items() if not url]
                if absent:
                    raise ReleaseError(f"the CI run for {tag} succeeded, but {target.name} does "
                                       f"not show {absent[0]} (and {len(absent) - 1} more)")
                if release.final:  # the release workflow's last job installs back from PyPI
                    verifications = dict(record.data.get("verifications", {}))
                    verifications[release.pypi.name] = {"ok": True, "via": run.url,
                                                        "url": release.pypi.where_simple}
                    record.set("verifications", verifications)
                notes = render_sources(gather(release.root, train.name, version), today())
                made = publish(api_base(), owner, name, secret, tag=tag,
                               title=f"{train.name} {version}", body=notes,
                               prerelease=not release.final)
                attached = [p.name for p in manifest.files()
                            if made.upload_url and actions.upload_asset(made.upload_url, p)]
                out[train.name] = {**ci, "release": made.url, "assets": attached}
    _stage(release, "ci", {t.name: {"tag": t.tag(release.versions[t.name])}
                           for t in release.python_trains}, body)


def stage_downstream(release: Release) -> list[str]:
    """Artifact trains that pin a released train move to it, after PyPI verification (in
    their own repository for those that have one: branch, commit, tag, push there)."""
    from release.pipeline.downstream import pin_downstream

    lines: list[str] = []
    released = {t.name for t in release.trains}
    config = load(release.root)
    pinning = [t for t in config.artifacts() if {p.train for p in t.pins} & released]
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
                    if artifact.repository is None and \
                            not text.startswith(f"{artifact.name} already pins"):
                        text += "\n" + tag_release(fresh, fresh.train(artifact.name))
                        text += "\n" + push_release(fresh)
                    out[artifact.name] = text.splitlines()
                    lines.append(text)
            # a downstream in its own repository journaled its steps into the file
            linked = load_record(release.root, record.train, record.version).data.get(
                "downstreams")
            if linked:
                record.data["downstreams"] = linked
    kill_point("downstream")
    return lines


def stage_notes(release: Release) -> list[str]:
    from release.announce.notes import write_notes

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
    lines = ["", "release summary"]
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


# --- the release, in order ------------------------------------------------------------------

REAL_PYPI = "https://pypi.org/simple/"


def fallbacks_for(release: Release, target: Endpoint) -> list[str]:
    """Indexes after the target, for what the release itself lacks: other trains' releases
    already published and third-party dependencies come from production (and, when the
    production index is a stand-in, from PyPI itself)."""
    chain = [] if target.production else [release.pypi.simple_url]
    if release.pypi.simple_url.rstrip("/") != REAL_PYPI.rstrip("/"):
        chain.append(REAL_PYPI)
    return chain


def in_progress(root: Path, config: Config) -> dict[str, Record]:
    """Records of releases not finished yet, by train: a rerun resumes them."""
    from release.pipeline.steps import next_step

    return {r.train: r for r in all_records(root)
            if r.train in config.trains and next_step(config, r) is not None}


def select_trains(config: Config, names: Sequence[str] | None) -> list[Train]:
    """The python trains to release, in dependency order (default: every python train)."""
    chosen = [config.train(n) for n in names] if names else list(config.trains.values())
    for train in chosen:
        if names and train.kind != "python":
            raise ReleaseError(f"train {train.name} is an artifact train: it follows the "
                               "trains it pins in their downstream stage (or invoke "
                               "pin-downstream)")
    trains = dependency_order(config, [t for t in chosen if t.kind == "python"])
    if not trains:
        raise ReleaseError("no python train to release")
    return trains


def prepare(root: Path, names: Sequence[str] | None, part: str | None, to: str | None,
            pythons: Sequence[str] | None = None, platforms: Sequence[str] | None = None,
            say: Say = print, require_index_check: bool = False) -> Release:
    """The release to run: versions from the records in progress (a rerun resumes), else
    planned from --part/--to; indexes from config and environment."""
    config = load(root)
    trains = select_trains(config, names)
    ongoing = in_progress(config.root, config)
    resuming = [t for t in trains if t.name in ongoing]
    if resuming and (part or to):
        say("resuming " + ", ".join(f"{t.name} {ongoing[t.name].version}" for t in resuming)
            + " from the release records")
    fresh = [t for t in trains if t.name not in ongoing]
    if fresh and not (part or to):
        raise ReleaseError("say which version to release: --part (major, minor, patch, pre, "
                           "rc, post, release) or --to VERSION")
    planned = plan_versions(config, fresh, part, to)
    versions = {t.name: ongoing[t.name].version if t.name in ongoing else planned[t.name]
                for t in trains}
    release = assemble(config, trains, versions, pythons, platforms, say)
    release.require_index_check = require_index_check
    return release


def assemble(config: Config, trains: Sequence[Train], versions: dict[str, str],
             pythons: Sequence[str] | None = None, platforms: Sequence[str] | None = None,
             say: Say = print) -> Release:
    """A Release of these versions: their records, the indexes (config and environment),
    the interpreters and platforms to verify on."""
    return Release(
        config=config, trains=list(trains), versions=versions,
        records={t.name: load_record(config.root, t.name, versions[t.name]) for t in trains},
        testpypi=endpoint(config, "testpypi"), pypi=endpoint(config, "pypi"), fallbacks=[],
        pythons=find_all(tuple(config.pythons if pythons is None else pythons),
                         config.optional_pythons),
        platforms=list(platforms if platforms is not None else config.platforms), say=say)


def run_release(release: Release) -> str:
    """The whole release, stage by stage, stopping at the first failure; every stage is
    journaled, so running it again resumes where it stopped. Returns the summary."""
    stage_preflight(release)
    stage_confirm(release)
    stage_bump_and_commit(release, None, None)
    stage_gates(release)
    stage_tag(release)
    if release.via_ci:  # CI publishes from the tag: build here only for the release's assets
        for record in release.records.values():  # a rerun keeps the mode
            if not record.data.get("via-ci"):
                record.set("via-ci", True)
        stage_build(release)
        stage_push(release)
        stage_ci(release)
        return summarize(release, [], stage_downstream(release), stage_notes(release))
    stage_push(release)
    stage_build(release)
    stage_upload(release, release.testpypi)
    reports = [stage_verify(release, release.testpypi,
                            fallbacks_for(release, release.testpypi))]
    stage_smoke(release, release.testpypi)
    if release.final:
        stage_upload(release, release.pypi)
        reports.append(stage_verify(release, release.pypi, fallbacks_for(release, release.pypi)))
        stage_smoke(release, release.pypi)
    downstream = stage_downstream(release)
    notes = stage_notes(release)
    return summarize(release, reports, downstream, notes)


@locked(first_root)
def release_command(root: Path, trains: Sequence[str] | None, part: str | None,
                    to: str | None = None, pythons: Sequence[str] | None = None,
                    platforms: Sequence[str] | None = None, say: Say = print,
                    require_index_check: bool = False, via_ci: bool = False,
                    dry_run: bool = False) -> str:
    """`release-train release`: prepare, then run (or resume) the whole release (with
    `dry_run`: say what it would do, from the same preparation, and do nothing)."""
    release = prepare(root, trains, part, to, pythons, platforms, say, require_index_check)
    release.via_ci = via_ci or any(r.data.get("via-ci") for r in release.records.values())
    if dry_run:
        return describe_release(release)
    return run_release(release)


def _stage_details(release: Release) -> dict[str, str]:
    """What some stages will do, for the plan."""
    from release.pipeline.gates import required

    gates = required(release.config, release.trains)
    branch = git.current_branch(release.root)
    remote = git.default_remote(release.root, branch) if branch else None
    released = {t.name for t in release.trains}
    pinning = [t.name for t in release.config.trains.values()
               if t.kind == "artifact" and {p.train for p in t.pins} & released]
    return {
        "confirm": "; ".join(f'"{c}"' for c in gates.confirm) or "no checkpoints configured",
        "gates": f"{len(gates.checks)} check(s) on a clean worktree of the release commit",
        "push": f"{branch} and the release tags to {remote}, atomically" if remote
        else "no branch or no remote: nothing to push",
        "downstream": "pin " + ", ".join(pinning) if pinning else "nothing pins these trains",
    }


def describe_release(release: Release) -> str:
    """The release plan, as run_release would carry it out: trains and versions in order,
    indexes, interpreters, each stage (done before, to do, or not needed) and each bump's
    files and lines. Reads only: no check that fetches or asks an index runs."""
    from release.pipeline.steps import not_needed
    from release.versions.plan import describe

    lines = ["release plan (dry run: nothing written, nothing sent)"]
    for train in release.trains:
        record = release.records[train.name]
        state = "resuming its release record" if record.path.exists() else "new"
        lines.append(f"  {train.name} {release.versions[train.name]} (tag "
                     f"{train.tag(release.versions[train.name])}; {state})")
    indexes = [release.testpypi] + ([release.pypi] if release.final else [])
    lines.append("  indexes: " + ", ".join(f"{e.name} {e.where}" for e in indexes)
                 + ("" if release.final else f" ({release.pypi.name}: not for a pre-release)"))
    lines.append("  install-back on: " + (", ".join(f"Python {i.version} ({i.path})"
                                                    for i in release.pythons) or "none")
                 + "; resolution for: " + (", ".join(release.platforms) or "none"))
    lines.append("  stages:")
    detail = _stage_details(release)
    for step in STEPS:
        records = [release.records[t.name] for t in release.trains]
        if all(step in not_needed(release.config, r) for r in records):
            lines.append(f"    {step}: not needed")
        elif all(r.done(step) for r in records):
            lines.append(f"    {step}: done before, skipped")
        else:
            lines.append(f"    {step}: to do" + (f" ({detail[step]})" if step in detail else ""))
    for train in release.trains:
        if not release.records[train.name].done("bump"):
            plan = plan_change(release.config, train, release.versions[train.name])
            said = describe(plan, dry_run=True).splitlines()
            lines += [f"  bump {said[0]}", *(f"  {line}" for line in said[1:]),
                      f"  commit: {commit_message(release.config, plan)}"]
    return "\n".join(lines)
