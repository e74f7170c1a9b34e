"""Point downstream artifacts (an add-on image, a compose file) at a published release.

Only a release whose record shows PyPI verification passed may be pinned: the add-on must never
name a version users cannot install. Moving the pins changes the add-on, so its own version
is bumped in the same all-or-nothing change (and commit, when asked).

An artifact train may live in a checkout of its own (`repository = "../addon-repo"`): then
that checkout is preflighted (clean, level with its upstream), a release branch takes the
commit of exactly the pinned files, the commit is tagged and pushed with the tag (the same
tag and push code as this repository's), or pushed and proposed as a pull request. Each of
those steps is journaled in the records of the pinned releases (`downstreams`), so a rerun
goes on from the step that did not finish, and the upstream record links the downstream
commit and tag.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from packaging.version import Version

from release import repo as git
from release.config import Config, Train, load
from release.errors import ReleaseError
from release.git.branches import branch_name
from release.git.preflight import check_clean, check_tag_free, check_upstream
from release.record import Record, all_records
from release.record import load as load_record
from release.versions.agreement import train_version
from release.versions.edits import FileEdit, line_changes, transaction
from release.versions.pep440 import bump, parse
from release.versions.plan import Plan, applying, commit_message, describe, plan_change
from release.versions.scan import Spot, rewrite, scan

Say = Callable[[str], None]


def verified_on_pypi(root: Path, train: str) -> list[str]:
    """Versions of `train` whose records show a passing PyPI verification, newest first."""
    versions = [r.version for r in all_records(root) if r.train == train
                and r.data.get("verifications", {}).get("pypi", {}).get("ok") is True]
    return sorted(versions, key=Version, reverse=True)


def _pin_edits(config: Config, train: Train, targets: dict[str, str]) -> tuple[list[FileEdit],
                                                                              list[Spot]]:
    found = scan(config, [train])
    by_file: dict[Path, list[Spot]] = defaultdict(list)
    moved = []
    for spot in found.spots:
        if spot.kind == "pin" and spot.train in targets and spot.written != targets[spot.train]:
            by_file[spot.path].append(spot)
            moved.append(spot)
    edits = []
    for path, spots in by_file.items():
        text = found.texts[path]
        new_text = text
        for pinned in {s.train for s in spots}:
            group = [s for s in spots if s.train == pinned]
            new_text = rewrite(new_text, group, parse(group[0].written), parse(targets[pinned]))
        edits.append(FileEdit(path, text, new_text))
    return edits, moved


def checkout_config(config: Config, train: Train) -> Config:
    """The config to work on the train's files with: this repository's, or, for a train in a
    checkout of its own, the same settings rooted there (its files validated now)."""
    if train.repository is None:
        return config
    path = train.repository
    if not path.is_dir():
        raise ReleaseError(f"train {train.name}: its repository {path} does not exist: clone "
                           "it there (repository = ... in the release config)")
    top = git.toplevel(path)
    if top is None or top.resolve() != path.resolve():
        raise ReleaseError(f"train {train.name}: {path} is not the root of a git checkout "
                           "(repository = ... names the add-on's own clone)")
    fresh = load(config.root)  # now that the checkout exists, its files are checked too
    mine = fresh.downstreams[train.name]
    return replace(fresh, root=path, trains={mine.name: mine}, downstreams={},
                   checkout_of=fresh.root)


def reload(config: Config, train: Train) -> Config:
    """The config again from disk (after a bump), wherever the train lives."""
    upstream = load(config.checkout_of or config.root)
    return checkout_config(upstream, upstream.artifact(train.name))


def targets_of(config: Config, train: Train, to: str | None) -> dict[str, str]:
    """The verified release each pinned train moves to (--to, or the newest verified)."""
    targets: dict[str, str] = {}
    for pinned in sorted({p.train for p in train.pins}):
        verified = verified_on_pypi(config.root, pinned)
        wanted = to or (verified[0] if verified else None)
        if wanted is None or wanted not in verified:
            what = f"{pinned} {wanted}" if wanted else f"any {pinned} release"
            raise ReleaseError(f"{what} has not passed PyPI verification (no release record "
                               "shows it): publish and verify it first (nox -s pypi), then pin")
        targets[pinned] = wanted
    return targets


def pin_commit_message(config: Config, plan: Plan, targets: dict[str, str]) -> str:
    """The train's commit message, naming the releases it now pins."""
    return commit_message(config, plan) + " (pins " + ", ".join(
        f"{k} {v}" for k, v in targets.items()) + ")"


def describe_pins(config: Config, train_name: str, *, to: str | None = None,
                  part: str = "patch", commit: bool = False) -> str:
    """What pin_downstream would do (dry run): the pins and lines that move, the train's own
    bump, the commit."""
    train = config.artifact(train_name)
    if not train.pins:
        raise ReleaseError(f"train {train.name} pins no other train (no pins = [...] in config)")
    targets = targets_of(config, train, to)
    edits, moved = _pin_edits(config, train, targets)
    if not moved:
        return f"{train.name} already pins " + ", ".join(f"{k} {v}" for k, v in targets.items())
    lines = [f"would move {s.where}: {s.train} {s.written} -> {targets[s.train]}" for s in moved]
    for change in (c for e in edits for c in line_changes(e)):
        lines += [f"  {change.path}:{change.line}", f"    - {change.old.strip()}",
                  f"    + {change.new.strip()}"]
    plan = plan_change(config, train, part=part)
    lines.append("and bump " + describe(plan, dry_run=True))
    if commit:
        lines.append(f"would commit: {pin_commit_message(config, plan, targets)}")
    return "\n".join(lines)


def pin_downstream(config: Config, train_name: str, *, to: str | None = None,
                   part: str = "patch", commit: bool = False, journal: bool = False,
                   pull_request: bool | None = None) -> str:
    """Move the train's downstream pins to verified releases, then bump the train itself;
    with `journal`, the pinned releases' records note their downstream stage done. A train
    in its own checkout is released there: branch, commit, tag, push (or pull request)."""
    train = config.artifact(train_name)
    if not train.pins:
        raise ReleaseError(f"train {train.name} pins no other train (no pins = [...] in config)")
    targets = targets_of(config, train, to)
    if train.repository is not None:
        wanted = pull_request if pull_request is not None else bool(
            train.downstream and train.downstream.pull_request)
        lines = release_in_checkout(config, train, targets, part, wanted)
        if journal:
            _journal(config.root, targets, train.name, lines)
        return "\n".join(lines)
    if pull_request:
        raise ReleaseError(f"train {train.name} lives in this repository: --pull-request is for "
                           "a train in a repository of its own (repository = \"../...\")")
    lines = _pin_and_bump(config, train, targets, part, commit)
    if journal:
        _journal(config.root, targets, train.name, lines)
    return "\n".join(lines)


def _pin_and_bump(config: Config, train: Train, targets: dict[str, str], part: str,
                  commit: bool) -> list[str]:
    """Move the pins and bump the train, all or nothing (and commit exactly those files)."""
    edits, moved = _pin_edits(config, train, targets)
    if not moved:
        return [f"{train.name} already pins " + ", ".join(f"{k} {v}" for k, v in targets.items())]
    lines = [f"{s.where}: {s.train} {s.written} -> {targets[s.train]}" for s in moved]
    with transaction(config.root, edits):
        fresh = reload(config, train)
        plan = plan_change(fresh, fresh.artifact(train.name), part=part)
        with applying(fresh, plan):
            paths = [e.path for e in edits] + plan.paths
            message = pin_commit_message(fresh, plan, targets)
            sha = git.commit_paths(config.root, paths, message) if commit else None
    lines.extend(f"{c.path}:{c.line}: {c.new.strip()}" for c in plan.changes)
    lines.append(f"{train.name} {plan.old} -> {plan.new}")
    if sha:
        lines.append(f"committed {git.short(sha)}")
    return lines


# --- a downstream in a repository of its own ----------------------------------------------

class Progress:
    """The downstream release's steps, journaled in every pinned release's record."""

    def __init__(self, root: Path, targets: dict[str, str], train: str) -> None:
        self.train = train
        self.records: list[Record] = [r for r in (load_record(root, k, v)
                                                  for k, v in targets.items())
                                      if r.path.exists()]
        known = [r.data.get("downstreams", {}).get(train) for r in self.records]
        self.state: dict[str, Any] = dict(next((k for k in known if k), {}))

    def save(self, **values: Any) -> None:
        self.state.update(values)
        for record in self.records:
            downstreams = dict(record.data.get("downstreams", {}))
            downstreams[self.train] = dict(self.state)
            record.set("downstreams", downstreams)


def _switch(repo: Path, branch: str) -> None:
    if git.current_branch(repo) != branch:
        git.git(repo, "switch", "--quiet", branch, what=f"git switch {branch}")


def _github_target(train: Train, repo: Path) -> tuple[str, str]:
    """owner/name of the downstream on GitHub: `github = ...`, else its origin's URL."""
    from release.announce.github import GitHubError, parse_remote

    named = train.downstream.github if train.downstream else None
    if named:
        owner, _, name = named.partition("/")
        return owner, name
    proc = git.run_git(repo, "remote", "get-url", "origin")
    found = parse_remote(proc.stdout) if proc.returncode == 0 else None
    if found is None:
        raise GitHubError(f"train {train.name}: cannot tell its GitHub repository from the "
                          f"origin of {repo}: set github = \"owner/name\" in its config")
    return found


def release_in_checkout(config: Config, train: Train, targets: dict[str, str], part: str,
                        pull_request: bool) -> list[str]:
    """Pin, branch, commit, tag, push (or push and open a pull request) in the train's own
    checkout; each step journaled, so a rerun finishes what a failure left."""
    from release.announce.github import token

    progress = Progress(config.root, targets, train.name)
    state = progress.state
    where = checkout_config(config, train)
    repo = where.root
    lines: list[str] = []
    if pull_request:
        secret = token()  # before anything is written: a missing token is said at once
        owner, name = _github_target(train, repo)
    if not state.get("commit"):
        lines, pinned = _commit_in_checkout(config, where, train, targets, part, progress)
        if not pinned:
            return lines
    lines += _tag_and_push(config, train, progress, repo, pull_request)
    if pull_request and not state.get("pull-request"):
        lines.append(_open_pull_request(progress, repo, (secret, owner, name), targets))
    lines.append(f"{train.name} {state['version']}: commit {git.short(str(state['commit']))}, "
                 f"tag {state['tag']} in {repo}")
    return lines


def _base_and_remote(repo: Path) -> tuple[str, str]:
    """The branch the checkout releases from, and the remote it pushes to."""
    base = git.current_branch(repo)
    if base is None:
        raise ReleaseError(f"{repo}: HEAD is detached: switch to the branch the add-on "
                           "releases from (e.g. main)")
    remote = git.default_remote(repo, base)
    if remote is None:
        raise ReleaseError(f"{repo}: no remote to push to: add one (git remote add origin "
                           "URL)")
    return base, remote


def _enter_branch(repo: Path, branch: str) -> None:
    """Switch to the release branch, made here (or left by an earlier try at HEAD)."""
    if git.branch_exists(repo, branch) and git.rev(repo, branch) != git.head(repo):
        raise ReleaseError(f"{repo}: branch {branch} already exists with other commits: "
                           "delete or rename it, then run again")
    if git.branch_exists(repo, branch):
        _switch(repo, branch)
    else:
        git.git(repo, "switch", "--quiet", "-c", branch, what=f"git switch -c {branch}")


def _commit_in_checkout(config: Config, where: Config, train: Train, targets: dict[str, str],
                        part: str, progress: Progress) -> tuple[list[str], bool]:
    """Preflight the checkout, then commit the moved pins and the train's bump on a release
    branch; (the lines, False) when the checkout already pins the targets."""
    repo = where.root
    base, remote = _base_and_remote(repo)
    lines = [f"ok: {check_clean(repo)}", f"ok: {check_upstream(repo, base)}"]
    version = bump(train_version(scan(where, [train]), train), part=part)
    tag = train.tag(version.text)
    branch = branch_name(config.branch_model.release_branch, train, version)
    _, moved = _pin_edits(where, train, targets)
    if not moved:
        return [f"{train.name} already pins "
                + ", ".join(f"{k} {v}" for k, v in targets.items()) + f" (in {repo})"], False
    lines.append(f"ok: {check_tag_free(repo, tag, remote)}")
    _enter_branch(repo, branch)
    try:
        lines += _pin_and_bump(where, train, targets, part, commit=True)
    except BaseException:
        _switch(repo, base)
        git.run_git(repo, "branch", "-D", branch)  # made above, still at base's commit
        raise
    progress.save(repository=str(repo), base=base, remote=remote, branch=branch,
                  version=version.text, tag=tag, commit=git.head(repo))
    return lines, True


def _tag_and_push(config: Config, train: Train, progress: Progress, repo: Path,
                  pull_request: bool) -> list[str]:
    """Tag the downstream commit and push it: its release branch for a pull request, else
    its base branch, fast-forwarded to it."""
    from release.git.tagging import push_release, tag_release

    state, lines = progress.state, []
    branch, base, remote = str(state["branch"]), str(state["base"]), str(state["remote"])
    if not state.get("tagged"):
        _switch(repo, branch)
        lines += tag_release(reload(config, train), train, commit=str(state["commit"]),
                             version=str(state["version"])).splitlines()[-1:]
        progress.save(tagged=True)
    if not state.get("pushed"):
        fresh = reload(config, train)
        if pull_request:
            lines.append(push_release(fresh, branch=branch, remote=remote))
            _switch(repo, base)
        else:
            _switch(repo, base)
            git.git(repo, "merge", "--quiet", "--ff-only", branch, what="git merge --ff-only")
            lines.append(push_release(fresh, branch=base, remote=remote))
        progress.save(pushed=True)
    return lines


def _open_pull_request(progress: Progress, repo: Path, github: tuple[str, str, str],
                       targets: dict[str, str]) -> str:
    """Propose the pushed release branch to the base branch (GitHub: token, owner, name)."""
    from release.announce.github import api_base, open_pull_request

    state = progress.state
    secret, owner, name = github
    title = git.git(repo, "log", "-1", "--format=%s", str(state["commit"]))
    body = (f"Pins {', '.join(f'{k} {v}' for k, v in targets.items())} (verified on PyPI) "
            f"and releases {progress.train} {state['version']} (tag {state['tag']}).\n\n"
            "Opened by release-train pin-downstream.")
    made = open_pull_request(api_base(), owner, name, secret, head=str(state["branch"]),
                             base=str(state["base"]), title=title, body=body)
    progress.save(**{"pull-request": made.url})
    return ("opened" if made.created else "already open:") + f" pull request {made.url}"


def _journal(root: Path, targets: dict[str, str], artifact: str, lines: list[str]) -> None:
    """The pinned releases' records note their downstream stage done (status moves on)."""
    for pinned, version in targets.items():
        record = load_record(root, pinned, version)
        if record.path.exists() and not record.done("downstream"):
            with record.running("downstream", {}) as out:
                out[artifact] = lines
