"""Branches: release branches cut from an up-to-date main, and the beta-branch model.

The beta-branch model (pytokio's): main carries `X.Y.0.devN`; a feature freeze brings main
into `rc` and moves main to `X.(Y+1).0.dev1`; version branches `X.Y` are cut from rc and carry
betas, always one beta ahead of the last one released (so any fix lands on a version newer
than what is out); a final from a version branch tags `X.Y.Z` and moves on to
`X.Y.(Z+1)b1`. Branch names come from `config.branch_model`.

Every command checks everything first (a refusal changes nothing), then works on the branches
it names in temporary worktrees (or in the checkout itself when that branch is checked out),
commits with the configured message, and tags with the train's tag format. A step that fails
half-way undoes its branch moves; a tag, once made, is never deleted.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.version import Version

from release import repo as git
from release.config import Config, Train
from release.errors import GitError, ReleaseError
from release.git.preflight import (
    check_clean,
    check_newer,
    check_tag_free,
    check_upstream,
    config_in,
    files_at,
    sign_wanted,
)
from release.versions.agreement import Problem, problems, train_version
from release.versions.pep440 import Written, bump
from release.versions.plan import Plan, apply_and_commit, commit_message, describe, plan_change
from release.versions.scan import scan
from release.worktrees import branch_checkout, clean_worktree

DRY = "dry run: nothing written"


def _kind(signed: bool) -> str:
    return "signed" if signed else "annotated"


def _minor(version: Version) -> int:
    return version.release[1] if len(version.release) > 1 else 0


def branch_name(template: str, train: Train, version: Written) -> str:
    """A branch name from a config template ({train}, {version}, {major}, {minor})."""
    v = version.version
    return template.format(train=train.name, version=version.text, major=v.major,
                           minor=_minor(v))


def version_branch_pattern(template: str, train: Train) -> re.Pattern[str]:
    """A regex matching the version branches a template makes, capturing major and minor."""
    fields = {"{major}": r"(?P<major>[0-9]+)", "{minor}": r"(?P<minor>[0-9]+)",
              "{train}": re.escape(train.name), "{version}": r".+"}
    pieces = re.split(r"(\{major\}|\{minor\}|\{train\}|\{version\})", template)
    return re.compile("^" + "".join(fields.get(p, re.escape(p)) for p in pieces) + "$")


def _require_branch(repo: Path, branch: str, hint: str) -> str:
    sha = git.rev(repo, f"refs/heads/{branch}")
    if sha is None:
        raise GitError(f"no branch {branch!r} here: {hint}")
    return sha


def _agree(where: str, listed: list[Problem]) -> None:
    if listed:
        more = f" (and {len(listed) - 1} more: invoke check)" if len(listed) > 1 else ""
        raise ReleaseError(f"{where}: files disagree: {listed[0]}{more}: fix that first")


def _new_branch_free(repo: Path, name: str, remote: str | None) -> None:
    if not git.run_git(repo, "check-ref-format", "--branch", name).returncode == 0:
        raise GitError(f"{name!r} is not a valid branch name: fix the branch template in the "
                       "release config")
    if git.branch_exists(repo, name):
        raise GitError(f"branch {name} already exists: switch to it (git switch {name})")
    if remote is not None and git.remote_branch_exists(repo, remote, name):
        raise GitError(f"branch {name} already exists on {remote}: fetch it and switch to it "
                       f"(git fetch {remote}; git switch {name})")


# --- release branches --------------------------------------------------------------------------

def create_release_branch(config: Config, train_name: str | None, part: str | None = None,
                          to: str | None = None, dry_run: bool = False) -> str:
    """Create `release/<train>-v<version>` (config.branch_model.release_branch) from an
    up-to-date main, and switch to it. The version is the planned one (--part/--to) or the one
    main's files carry. With `dry_run`, every check (no fetch), then what it would create."""
    repo = config.root
    git.require_repo(repo)
    train = config.pick(train_name)
    main = config.branch_model.main
    lines = [check_clean(repo)]
    main_sha = _require_branch(repo, main, "the release branch is cut from it")
    lines.append(check_upstream(repo, main, fetch=not dry_run))
    current, _ = files_at(config, main_sha, train)
    version = bump(current, part=part, to=to) if (part or to) else current
    name = branch_name(config.branch_model.release_branch, train, version)
    remote = git.default_remote(repo, main)
    _new_branch_free(repo, name, remote)
    lines.append(check_tag_free(repo, train.tag(version.text), remote))
    lines.append(check_newer(repo, train, version.text, main_sha))
    if dry_run:
        return "\n".join([*(f"ok: {line}" for line in lines),
                          f"would create {name} from {main} ({git.short(main_sha)}) and switch "
                          "to it", DRY])
    git.git(repo, "switch", "--quiet", "--no-track", "-c", name, main_sha,
            what=f"git switch -c {name}")
    lines = [f"ok: {line}" for line in lines]
    lines.append(f"created {name} from {main} ({git.short(main_sha)}) and switched to it")
    if version is not current:
        lines.append(f"next: invoke bump --train {train.name} --to {version.text} --commit")
    else:
        lines.append(f"next: invoke tag --train {train.name}")
    return "\n".join(lines)


# --- the beta-branch model ---------------------------------------------------------------------

def _reset_branch(repo: Path, branch: str, sha: str | None) -> None:
    """Undo our own moves of a branch: back to sha, or gone if we created it."""
    if sha is None:
        git.run_git(repo, "branch", "--quiet", "-D", branch)
        return
    if git.rev(repo, f"refs/heads/{branch}") == sha:
        return
    with branch_checkout(repo, branch) as tree:
        git.git(tree, "reset", "--quiet", "--keep", sha, what=f"restoring {branch}")


def _tag(repo: Path, train: Train, version: str, commit: str, sign: bool) -> str:
    tag = train.tag(version)
    git.create_tag(repo, tag, f"{train.name} {version}", commit, sign=sign)
    return tag


def freeze(config: Config, train_name: str | None = None, dry_run: bool = False) -> str:
    """Feature freeze: bring main into rc (created, fast-forwarded or merged) and move main
    from X.Y.0.devN to X.(Y+1).0.dev1. With `dry_run`, every check (no fetch), then the rc
    move and main's commit it would make."""
    repo = config.root
    git.require_repo(repo)
    train = config.pick(train_name)
    bm = config.branch_model
    lines = [check_clean(repo)]
    main_sha = _require_branch(repo, bm.main, "the freeze starts from it")
    rc_old = git.rev(repo, f"refs/heads/{bm.rc}")
    fetched: set[str] = set()
    lines.append(check_upstream(repo, bm.main, fetched, fetch=not dry_run))
    if rc_old is not None:
        lines.append(check_upstream(repo, bm.rc, fetched, fetch=not dry_run))
    with branch_checkout(repo, bm.main) as main_tree:
        here = config_in(config, main_tree)
        found = scan(here)
        current = train_version(found, here.train(train.name))
        _agree(bm.main, problems(here, found))
        v = current.version
        if v.dev is None or v.pre is not None or v.post is not None:
            raise ReleaseError(f"{bm.main} carries {train.name} {current}, but the beta-branch "
                               f"model keeps {bm.main} at X.Y.0.devN: bump it there first "
                               f"(invoke bump --train {train.name} --part dev)")
        next_dev = f"{v.major}.{_minor(v) + 1}.0.dev1"
        plan = plan_change(here, here.train(train.name), next_dev, found=found)
        if dry_run:
            move = f"create {bm.rc} at {bm.main}" if rc_old is None else \
                _merge_into(repo, bm.rc, main_sha, "", dry_run=True)
            return "\n".join([*(f"ok: {line}" for line in lines),
                              f"would {move} ({git.short(main_sha)}): {bm.rc} would carry "
                              f"{train.name} {current}",
                              f"would commit on {bm.main}: {commit_message(here, plan)}",
                              describe(plan, dry_run=True)])
        # Effects from here on; undo the rc move if main's commit fails.
        try:
            if rc_old is None:
                git.git(repo, "branch", "--no-track", bm.rc, main_sha, what="git branch")
                how = f"created {bm.rc} at {bm.main}"
            else:
                how = _merge_into(repo, bm.rc, main_sha,
                                  f"Merge {bm.main} into {bm.rc}: feature freeze {current}")
            sha = apply_and_commit(here, plan)
        except BaseException:
            _reset_branch(repo, bm.rc, rc_old)
            raise
    lines = [f"ok: {line}" for line in lines]
    lines.append(f"{how} ({git.short(main_sha)}): {bm.rc} carries {train.name} {current}")
    lines.append(f"{bm.main}: {train.name} {current} -> {plan.new} ({git.short(sha)})")
    lines.append(f"next: invoke cut-beta --train {train.name}")
    return "\n".join(lines)


def _merge_into(repo: Path, branch: str, commit: str, message: str,
                dry_run: bool = False) -> str:
    before = git.rev(repo, f"refs/heads/{branch}")
    if before == commit or (before and git.is_ancestor(repo, commit, before)):
        return f"{branch} already had {commit[:12]}"
    fast = before is not None and git.is_ancestor(repo, before, commit)
    if dry_run:
        return f"fast-forward {branch}" if fast else f"merge {commit[:12]} into {branch}"
    with branch_checkout(repo, branch) as tree:
        proc = git.run_git(tree, "merge", "--quiet", "--no-edit", "-m", message, commit)
        if proc.returncode != 0:
            git.run_git(tree, "merge", "--abort")
            raise GitError(f"merging into {branch} failed ({git.reason(proc)}): merge by hand, "
                           "then run again")
    return f"fast-forwarded {branch}" if fast else f"merged into {branch}"


def _move_on(config: Config, train: Train, tag: str, branch: str, part: str) -> Plan:
    """After a release: move the branch one version ahead; a failure here leaves the release
    (commit and tag) in place and says how to finish by hand."""
    try:
        plan = plan_change(config, config.train(train.name), part=part)
        apply_and_commit(config, plan)
        return plan
    except ReleaseError as exc:
        raise ReleaseError(f"released {tag}, but moving {branch} on failed ({exc}): finish by "
                           f"hand (git switch {branch}; invoke bump --train {train.name} "
                           f"--part {part} --commit)") from exc


def cut_beta(config: Config, train_name: str | None = None, branch: str | None = None,
             sign: bool = False, dry_run: bool = False) -> str:
    """Release the next beta. The first time for rc's X.Y: create the version branch from
    rc, set X.Y.0b1, commit, tag, move on to X.Y.0b2. Later (or with --branch): tag the beta
    the version branch carries and move it on to the next one. With `dry_run`, every check
    (no fetch), then the branch, commits and tag it would make."""
    repo = config.root
    git.require_repo(repo)
    train = config.pick(train_name)
    bm = config.branch_model
    lines = [check_clean(repo)]
    fetched: set[str] = set()
    if branch is None:
        rc_sha = _require_branch(repo, bm.rc, "run invoke freeze first")
        lines.append(check_upstream(repo, bm.rc, fetched, fetch=not dry_run))
        current, listed = files_at(config, rc_sha, train)
        _agree(bm.rc, listed)
        v = current.version
        if v.dev is None or v.pre is not None or v.post is not None:
            raise ReleaseError(f"{bm.rc} carries {train.name} {current}, not X.Y.Z.devN: "
                               "a version branch is cut from a frozen rc (invoke freeze)")
        branch = branch_name(bm.version_branch, train, current)
        if not git.branch_exists(repo, branch):
            first = f"{v.major}.{_minor(v)}.{v.micro}b1"
            return "\n".join(_first_beta(config, train, branch, rc_sha, first, sign, lines,
                                          dry_run))
    _require_branch(repo, branch, "create it with invoke cut-beta (without --branch)")
    return "\n".join(_next_beta(config, train, branch, sign, lines, fetched, dry_run))


def _first_beta(config: Config, train: Train, branch: str, start: str, first: str,
                sign: bool, lines: list[str], dry_run: bool = False) -> list[str]:
    repo = config.root
    remote = git.default_remote(repo, config.branch_model.rc)
    _new_branch_free(repo, branch, remote)
    tag = train.tag(first)
    lines.append(check_tag_free(repo, tag, remote))
    lines.append(check_newer(repo, train, first, start))
    signed = sign_wanted(repo, sign)
    out = [f"ok: {line}" for line in lines]
    if dry_run:
        with clean_worktree(repo, start) as tree:
            here = config_in(config, tree)
            plan = plan_change(here, here.train(train.name), first)
            return [*out, f"would create {branch} from {config.branch_model.rc} "
                    f"({git.short(start)}), commit {commit_message(here, plan)!r} and tag "
                    f"{tag} ({_kind(signed)})", describe(plan, dry_run=True),
                    f"then move {branch} on to {bump(plan.new, part='pre')}, one beta ahead"]
    git.git(repo, "branch", "--no-track", branch, start, what="git branch")
    tagged = False
    try:
        with branch_checkout(repo, branch) as tree:
            here = config_in(config, tree)
            plan = plan_change(here, here.train(train.name), first)
            sha = apply_and_commit(here, plan)
            tag = _tag(repo, train, plan.new.text, sha, signed)
            tagged = True
            out.append(f"created {branch} from {config.branch_model.rc}; {plan.old} -> "
                       f"{plan.new} ({git.short(sha)}), tagged {tag}")
            after = _move_on(here, train, tag, branch, "pre")
            out.append(f"{branch}: moved on to {after.new}, one beta ahead")
    except BaseException:
        if not tagged:
            _reset_branch(repo, branch, None)
        raise
    out.append(f"next: invoke push --branch {branch}")
    return out


def _next_beta(config: Config, train: Train, branch: str, sign: bool, lines: list[str],
               fetched: set[str], dry_run: bool = False) -> list[str]:
    repo = config.root
    lines.append(check_upstream(repo, branch, fetched, fetch=not dry_run))
    with branch_checkout(repo, branch) as tree:
        here = config_in(config, tree)
        found = scan(here)
        current = train_version(found, here.train(train.name))
        _agree(branch, problems(here, found))
        v = current.version
        if v.pre is None or v.pre[0] != "b" or v.dev is not None or v.post is not None:
            raise ReleaseError(f"{branch} carries {train.name} {current}, not a beta: the "
                               "beta-branch model keeps version branches at X.Y.ZbN")
        remote = git.default_remote(repo, branch)
        tag = train.tag(current.text)
        lines.append(check_tag_free(repo, tag, remote))
        lines.append(check_newer(repo, train, current.text, f"refs/heads/{branch}"))
        out = [f"ok: {line}" for line in lines]
        sha = git.head(tree)
        if dry_run:
            after = plan_change(here, here.train(train.name), part="pre", found=found)
            return [*out, f"{branch}: would tag {tag} ({_kind(sign_wanted(repo, sign))}) on "
                    f"{git.short(sha)}, then move on to {after.new}, one beta ahead "
                    f"({commit_message(here, after)!r})", describe(after, dry_run=True)]
        _tag(repo, train, current.text, sha, sign_wanted(repo, sign))
        out.append(f"{branch}: tagged {tag} on {git.short(sha)}")
        after = _move_on(here, train, tag, branch, "pre")
        out.append(f"{branch}: moved on to {after.new}, one beta ahead")
    out.append(f"next: invoke push --branch {branch}")
    return out


def final_release(config: Config, train_name: str | None = None, branch: str | None = None,
                  sign: bool = False, dry_run: bool = False) -> str:
    """A final from a version branch: set X.Y.Z, commit, tag, move on to X.Y.(Z+1)b1. With
    `dry_run`, every check (no fetch), then the commit and tag it would make."""
    repo = config.root
    git.require_repo(repo)
    train = config.pick(train_name)
    template = config.branch_model.version_branch
    lines = [check_clean(repo)]
    branch = branch or git.current_branch(repo)
    if branch is None:
        raise GitError("HEAD is detached: pass --branch X.Y (the version branch)")
    if not version_branch_pattern(template, train).match(branch):
        raise GitError(f"{branch} is not a version branch ({template}): switch to one or pass "
                       "--branch")
    old = _require_branch(repo, branch, "check the name (git branch)")
    lines.append(check_upstream(repo, branch, fetch=not dry_run))
    with branch_checkout(repo, branch) as tree:
        here = config_in(config, tree)
        found = scan(here)
        current = train_version(found, here.train(train.name))
        _agree(branch, problems(here, found))
        if not current.version.is_prerelease or current.version.post is not None:
            raise ReleaseError(f"{branch} carries {train.name} {current}, which is not a beta "
                               "to finish: the version branch should be one beta ahead")
        plan = plan_change(here, here.train(train.name), part="release", found=found)
        remote = git.default_remote(repo, branch)
        tag = plan.tag
        lines.append(check_tag_free(repo, tag, remote))
        lines.append(check_newer(repo, train, plan.new.text, f"refs/heads/{branch}"))
        signed = sign_wanted(repo, sign)
        out = [f"ok: {line}" for line in lines]
        if dry_run:
            return "\n".join([*out, f"{branch}: would commit {commit_message(here, plan)!r} "
                              f"and tag {tag} ({_kind(signed)})", describe(plan, dry_run=True),
                              f"then move {branch} on to {bump(plan.new, part='beta')}, one "
                              "beta ahead"])
        sha = apply_and_commit(here, plan)
        try:
            _tag(repo, train, plan.new.text, sha, signed)
        except BaseException:
            git.run_git(tree, "reset", "--quiet", "--keep", old)
            raise
        out.append(f"{branch}: {plan.old} -> {plan.new} ({git.short(sha)}), tagged {tag}")
        after = _move_on(here, train, tag, branch, "beta")
        out.append(f"{branch}: moved on to {after.new}, one beta ahead")
    out.append(f"next: invoke push --branch {branch}")
    return "\n".join(out)
