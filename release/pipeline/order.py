"""The release in order: every stage from preflight to notes, stopping at the first failure
(`run_release`), and the plan of that run, read-only (`describe_release`, for `--dry-run`).

A final goes on to PyPI, a pre-release stops after TestPyPI; with `--via-ci` the run stops
after the push and the tag's GitHub Actions run publishes. Every stage is journaled, so a
run started again resumes where the last one stopped.
"""

from __future__ import annotations

from release import repo as git
from release.pipeline.gates import required
from release.pipeline.release import Release, fallbacks_for
from release.pipeline.stages.ci import stage_ci
from release.pipeline.stages.closing import stage_downstream, stage_notes, summarize
from release.pipeline.stages.commit import (
    stage_bump_and_commit,
    stage_confirm,
    stage_gates,
    stage_preflight,
    stage_push,
    stage_tag,
)
from release.pipeline.stages.publish import stage_build, stage_upload
from release.pipeline.stages.verification import stage_smoke, stage_verify
from release.pipeline.steps import not_needed
from release.record import STEPS
from release.versions.plan import commit_message, describe, plan_change


def run_release(release: Release) -> str:
    """The whole release, stage by stage, stopping at the first failure; every stage is
    journaled, so running it again resumes where it stopped. Returns the summary."""
    stage_preflight(release)
    stage_confirm(release)
    stage_bump_and_commit(release)
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


def _stage_details(release: Release) -> dict[str, str]:
    """What some stages will do, for the plan."""
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


def _stage_lines(release: Release) -> list[str]:
    """Each stage: not needed, done before, or to do (and what it will do)."""
    lines = ["  stages:"]
    detail = _stage_details(release)
    records = [release.records[t.name] for t in release.trains]
    for step in STEPS:
        if all(step in not_needed(release.config, r) for r in records):
            lines.append(f"    {step}: not needed")
        elif all(r.done(step) for r in records):
            lines.append(f"    {step}: done before, skipped")
        else:
            lines.append(f"    {step}: to do" + (f" ({detail[step]})" if step in detail else ""))
    return lines


def describe_release(release: Release) -> str:
    """The release plan, as run_release would carry it out: trains and versions in order,
    indexes, interpreters, each stage (done before, to do, or not needed) and each bump's
    files and lines. Reads only: no check that fetches or asks an index runs."""
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
    lines += _stage_lines(release)
    for train in release.trains:
        if not release.records[train.name].done("bump"):
            plan = plan_change(release.config, train, release.versions[train.name])
            said = describe(plan, dry_run=True).splitlines()
            lines += [f"  bump {said[0]}", *(f"  {line}" for line in said[1:]),
                      f"  commit: {commit_message(release.config, plan)}"]
    return "\n".join(lines)
