"""The build and index stages: build every python train from its tag (before-build commands
in the build's own worktree), upload to an index once, and the production rules (finals and
posts only, only from their tag, only the very files TestPyPI verified).

The record takes the build's files (`release.pipeline.artifacts`); `nox -s build` builds are
adopted the same way, and never replaced."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from packaging.version import Version

from release import repo as git
from release.build.frontend import build_trains
from release.build.manifest import Manifest
from release.config import Train, load
from release.errors import ReleaseError
from release.pipeline.artifacts import record_artifacts
from release.pipeline.gates import prepare, require, required
from release.pipeline.release import Outputs, Release, kill_point, run_stage
from release.publish.endpoints import Endpoint
from release.publish.uploads import upload
from release.record import Record


def stage_build(release: Release) -> None:
    def body(out: Outputs) -> None:
        for train in release.python_trains:
            tag = train.tag(release.versions[train.name])
            (manifest,) = build_trains(load(release.root), [train], ref=tag,
                                       out_dir=release.dist, progress=release.say,
                                       prepare=_before_build(release, train))
            record_artifacts(release.records[train.name], manifest, release.say)
            kill_point(f"build:{train.name}")
            out[train.name] = {"manifest": str(manifest.path), "commit": manifest.commit,
                               "files": len(manifest.artifacts)}
    run_stage(release, "build", {t.name: {"tag": t.tag(release.versions[t.name])}
                                 for t in release.python_trains}, body)


def _before_build(release: Release, train: Train) -> Callable[[Path, str], None] | None:
    """The before-build commands, run in the build's own worktree (journaled with the gates)."""
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


def adopt_manifests(release: Release) -> list[Manifest]:
    """Releases built by `nox -s build`: the record takes their files, and never new ones."""
    manifests = release.built()
    for manifest in manifests:
        record_artifacts(release.records[manifest.train], manifest, release.say)
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

    def body(out: Outputs) -> None:
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
    run_stage(release, name, {t.name: {"index": target.where, "files": sorted(
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
