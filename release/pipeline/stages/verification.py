"""The verification stages: install the release back from an index (each Python, each
platform), wait once until the index shows every file, run the artifact trains' smoke.

What was verified where is kept in every train's record under `verifications`, by index name
and bound to the index URL; one session per Python adds its row to the same verification, and
never redoes another's work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from release.build.manifest import Manifest
from release.pipeline.release import Outputs, Release, run_stage
from release.platforms import host_platform, installed_ok, merge_verification
from release.publish.endpoints import Endpoint
from release.verify.crosspins import Sources, cross_train_pins, locate, package_trains
from release.verify.report import Report, platform_report, require, verify, wheels_of


def install_sources(release: Release, target: Endpoint, fallbacks: Sequence[str],
                    manifests: Sequence[Manifest]) -> Sources:
    """Where install-back finds the release (the target) and the other trains' exact
    releases it pins: the target, else production when they are published there; neither is
    a one-line error naming the train to release first."""
    pins = cross_train_pins(wheels_of(manifests), package_trains(release.config))
    return locate(pins, target, None if target.production else release.pypi, fallbacks)


def verification_on(release: Release, target: Endpoint) -> dict[str, Any]:
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


def _keep_verification(release: Release, target: Endpoint, merged: dict[str, Any]) -> None:
    """Every train's record holds the target's verification as merged so far."""
    for train in release.python_trains:
        record = release.records[train.name]
        record.set("verifications", {**record.data.get("verifications", {}),
                                     target.name: merged})


def verified_before(release: Release, target: Endpoint) -> bool:
    """Every Python of this run already passed install-back on this machine's platform
    against the target URL, with these files: one session per Python (`nox -s testpypi`
    runs testpypi-3.11, -3.12, ...) never redoes another's work."""
    done = all(release.records[t.name].done(f"{target.name}-verify", target.where_simple)
               for t in release.python_trains)
    seen = verification_on(release, target)
    here = host_platform(release.platforms)
    return done and bool(release.pythons) and seen.get("files") == _files(release) and all(
        installed_ok(seen, here, p.wanted) for p in release.pythons)


def platform_report_of(release: Release, target: Endpoint) -> str:
    """The platform x Python table of everything the records show verified on the target."""
    return platform_report(target.name, verification_on(release, target), release.platforms,
                           release.config.pythons)


def stage_verify(release: Release, target: Endpoint, fallbacks: Sequence[str],
                 rerun: bool = False) -> Report:
    name = f"{target.name}-verify"
    if not rerun and verified_before(release, target):
        release.say(f"== {name}: done before on {target.where_simple} for Python "
                    + ", ".join(p.wanted for p in release.pythons) + ", skipped")
        return Report(target.name, [])
    before = verification_on(release, target)
    # One wait per index and set of files: a later session (another Python) finds them shown.
    seen = before.get("files") == _files(release) and before.get("waited") is not None

    def body(out: Outputs) -> Report:
        manifests = release.manifests()
        sources = install_sources(release, target, fallbacks, manifests)
        report = verify(manifests, target, sources.indexes[1:], release.pythons,
                        release.platforms, production=target.production,
                        wait=release.wait and not seen, deadline=release.deadline,
                        say=release.say, find_links=sources.find_links)
        release.say(report.table())
        now = {**report.to_json(), "url": target.where_simple, "files": _files(release)}
        merged = merge_verification(before, now)
        _keep_verification(release, target, merged)
        for manifest in manifests:
            record = release.records[manifest.train]
            record.set("indexes", {**record.data.get("indexes", {}),
                                   target.name: target.where_simple})
            out[manifest.train] = {"ok": merged["ok"],
                                   "sha256": sorted(a.sha256 for a in manifest.artifacts)}
        release.say(platform_report_of(release, target))
        require(report)
        return report
    report = run_stage(release, name, {t.name: {"index": target.where_simple}
                                       for t in release.python_trains}, body, rerun=True,
                       where=target.where_simple)
    return report or Report(target.name, [])


def stage_visible(release: Release, target: Endpoint) -> float:
    """Wait once until the target shows every file of the release (the uploading CI job, so
    verify jobs on other runners need not); the record keeps it for the sessions after."""
    from release.publish.visibility import wait_until_visible
    from release.verify.report import expected_files

    before = verification_on(release, target)
    if before.get("files") == _files(release) and before.get("waited") is not None:
        return float(before["waited"])
    with target.client() as client:
        waited = wait_until_visible(client, expected_files(release.manifests()),
                                    deadline=release.deadline, say=release.say)
    now = {"index": target.name, "url": target.where_simple, "files": _files(release),
           "releases": [f"{t.name} {release.versions[t.name]}" for t in release.python_trains],
           "waited": waited, "pythons": [], "platforms": [], "pin_problems": [], "ok": False}
    _keep_verification(release, target, merge_verification(before, now))
    release.say(f"{target.name}: every file visible after {waited:.1f} s")
    return waited


def stage_smoke(release: Release, target: Endpoint) -> None:
    """The artifact trains' smoke commands against the index just verified (release.smoke)."""
    from release.verify.smoke import planned, run_all

    runs = planned(release.config, release.versions)
    if not runs:
        return
    pinned = sorted({r.pinned for r in runs})

    def body(out: Outputs) -> None:
        results = run_all(release.config, runs, target.name, target.simple_url,
                          release.pypi.simple_url, release.say)
        for name in pinned:
            out[name] = {"runs": [r for r, s in zip(results, runs, strict=True)
                                  if s.pinned == name]}
    run_stage(release, f"{target.name}-smoke", {n: {"index": target.where_simple,
                                                    "specs": sorted(r.spec for r in runs
                                                                    if r.pinned == n)}
                                                for n in pinned}, body,
              where=target.where_simple)
