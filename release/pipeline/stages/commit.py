"""The stages up to the pushed release commit: preflight, manual checkpoints, bump and commit
(train by train), the validation gates on the release commit, the tag and the push.

Preflight runs every check before the record is written (a refusal leaves nothing behind);
the tag and the push are made with the same functions as `invoke tag` and `invoke push`.
"""

from __future__ import annotations

from typing import Any

from release import repo as git
from release.config import load
from release.git.preflight import preflight
from release.git.tagging import push_release, tag_release
from release.pipeline.gates import check_acks, passed_before, pending, require, required, run_gates
from release.pipeline.release import Outputs, Release, kill_point, run_stage
from release.pipeline.stages.ci import ci_preflight
from release.publish.availability import check_available
from release.record import Record
from release.versions.plan import Plan, apply_plan, commit_message, plan_change


def _preflight_lines(release: Release) -> dict[str, list[str]]:
    """Every train's checks (warnings said at once), unless preflight is done."""
    checked: dict[str, list[str]] = {}
    if all(release.records[t.name].done("preflight") for t in release.trains):
        return checked
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
    return checked


def stage_preflight(release: Release) -> None:
    """Every check, version availability on both indexes included, runs before the record
    is written: a refusal leaves nothing behind."""
    checked = _preflight_lines(release)

    def body(out: Outputs) -> None:
        for train in release.trains:
            out[train.name]["checks"] = checked[train.name]
    run_stage(release, "preflight", {t.name: {"version": release.versions[t.name]}
                                     for t in release.trains}, body)


def stage_confirm(release: Release) -> None:
    """Manual checkpoints (`confirm`): the release waits until `release-train ack TEXT`."""
    gates_of = {t.name: required(release.config, [t]) for t in release.trains}

    def body(out: Outputs) -> None:
        acks = check_acks([release.records[t.name] for t in release.trains], gates_of)
        for train in release.trains:
            out[train.name] = {"acks": acks[train.name]}
    run_stage(release, "confirm", {t.name: {"confirm": list(gates_of[t.name].confirm)}
                                   for t in release.trains}, body)


def stage_gates(release: Release) -> None:
    """The checks on a clean worktree of the last release commit, before it is tagged; a
    check that passed on that commit is not run again."""
    gates = required(release.config, release.trains)
    records = [release.records[t.name] for t in release.trains]
    commit = str(records[-1].require("commit"))
    done = passed_before([r for rec in records for r in rec.data.get("gates", [])], commit)

    def body(out: Outputs) -> None:
        results = run_gates(release.config, gates, commit, done, release.say)
        for record in records:
            record.set("gates", [*record.data.get("gates", []), *results])
            out[record.train] = {"commit": commit, "checks": len(gates.checks),
                                 "passed before": len(done & {r["command"] for r in results})
                                 or len(done), "ran": len(results)}
        for result in results:
            require(result)
    run_stage(release, "gates", {t.name: {"commit": commit} for t in release.trains}, body,
              rerun=bool(pending(gates, done)))


def stage_bump_and_commit(release: Release) -> None:
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
    run_stage(release, "push", {t.name: {"tag": t.tag(release.versions[t.name])}
                                for t in release.trains}, body)
