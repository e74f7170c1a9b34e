"""The release one run carries out, and how each stage of it is journaled.

`Release` holds what a run releases and where: the selected trains in dependency order, the
version of each (from its record when a release is in progress, so a rerun resumes), their
records, the two indexes, the interpreters and platforms to verify on. `prepare` and
`assemble` make one; `run_stage` runs a stage of every train at once as one journaled step
(skipped when every record has it done), under the repository's lock.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from packaging.version import Version

from release.build.manifest import Manifest, manifest_dir
from release.config import Config, Train, load
from release.errors import ReleaseError
from release.lock import held
from release.pipeline.artifacts import require_agreement
from release.pipeline.steps import next_step
from release.publish.endpoints import Endpoint, endpoint
from release.record import Record, all_records, journaled
from release.record import load as load_record
from release.verify.interpreters import Interpreter, find_all
from release.versions.agreement import train_version
from release.versions.pep440 import bump
from release.versions.plan import dependency_order
from release.versions.scan import scan

Say = Callable[[str], None]
Outputs = dict[str, dict[str, Any]]  # train -> what a stage left in its record
REAL_PYPI = "https://pypi.org/simple/"
T = TypeVar("T")


@dataclass
class Release:
    """What one run releases and where: trains in dependency order, their records."""

    config: Config
    trains: list[Train]
    versions: dict[str, str]  # train -> version being released
    records: dict[str, Record]
    testpypi: Endpoint
    pypi: Endpoint
    pythons: list[Interpreter]
    platforms: list[str]
    say: Say = print
    dist_dir: Path | None = None  # default: .release/dist (ignored: the tree stays clean)
    wait: bool = True  # wait until the index shows every file before installing it back
    deadline: float = 600.0  # seconds to wait for that
    via_ci: bool = False  # stop after the push: the tag's GitHub Actions run publishes
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


def run_stage(release: Release, name: str, inputs: dict[str, dict[str, Any]],
              body: Callable[[Outputs], T], rerun: bool = False,
              where: str | None = None) -> T | None:
    """Run a stage unless every train's record has it done (against `where`, the index URL
    for the stages that talk to an index; or `rerun`: checks that may be repeated, like
    verification); journal it in each record (`inputs` and `body`'s outputs, by train).
    Returns what `body` returned (None: skipped)."""
    with held(release.root):
        records = [release.records[t] for t in inputs]
        if records and all(r.done(name, where) for r in records) and not rerun:
            for r in records:
                r.check_inputs(name, inputs[r.train])
            release.say(f"== {name}: done before{f' on {where}' if where else ''}, skipped")
            return None
        release.say(f"== {name}" + (f" ({where})" if where else ""))
        with journaled(records, name, inputs, where) as outputs:
            result = body(outputs)
        kill_point(name)
        return result


def fallbacks_for(release: Release, target: Endpoint) -> list[str]:
    """Indexes after the target, for what the release itself lacks: other trains' releases
    already published and third-party dependencies come from production (and, when the
    production index is a stand-in, from PyPI itself)."""
    chain = [] if target.production else [release.pypi.simple_url]
    if release.pypi.simple_url.rstrip("/") != REAL_PYPI.rstrip("/"):
        chain.append(REAL_PYPI)
    return chain


def plan_versions(config: Config, trains: Sequence[Train], part: str | None,
                  to: str | None) -> dict[str, str]:
    """The version each train will release, planned from --part/--to."""
    found = scan(config, trains)
    return {t.name: bump(train_version(found, t), part=part, to=to).text for t in trains}


def current_versions(config: Config, trains: Sequence[Train]) -> dict[str, str]:
    """The version each train's files carry now (what the sessions release)."""
    found = scan(config, trains)
    return {t.name: train_version(found, t).text for t in trains}


def in_progress(root: Path, config: Config) -> dict[str, Record]:
    """Records of releases not finished yet, by train: a rerun resumes them."""
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
            say: Say = print, require_index_check: bool = False,
            via_ci: bool = False) -> Release:
    """The release to run: versions from the records in progress (a rerun resumes), else
    planned from --part/--to; indexes from config and environment; handed to CI when asked
    (or when a record in progress was)."""
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
    release.via_ci = via_ci or any(r.data.get("via-ci") for r in release.records.values())
    return release


def assemble(config: Config, trains: Sequence[Train], versions: dict[str, str],
             pythons: Sequence[str] | None = None, platforms: Sequence[str] | None = None,
             say: Say = print) -> Release:
    """A Release of these versions: their records, the indexes (config and environment),
    the interpreters and platforms to verify on."""
    return Release(
        config=config, trains=list(trains), versions=versions,
        records={t.name: load_record(config.root, t.name, versions[t.name]) for t in trains},
        testpypi=endpoint(config, "testpypi"), pypi=endpoint(config, "pypi"),
        pythons=find_all(tuple(config.pythons if pythons is None else pythons),
                         config.optional_pythons),
        platforms=list(platforms if platforms is not None else config.platforms), say=say)
