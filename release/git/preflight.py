"""Preflight: what every release step checks before it touches anything, and tag/version
agreement for CI. The tag and the push built on these checks live in `release.tagging`.

Each check returns a line saying what it verified, or raises one GitError line saying what to
do. Checks only read (the one write is `git fetch`, which moves remote-tracking branches
only), so a refusal leaves the repository byte-for-byte as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from packaging.version import Version

from release import repo as git
from release.config import Config, Train, branch_allowed, load
from release.errors import GitError, ReleaseError
from release.repo import tag_pattern
from release.versions.agreement import Problem, problems, train_version
from release.versions.pep440 import Written
from release.versions.scan import parse_loose, scan
from release.worktrees import clean_worktree

_STATES = {"M": "modified", "A": "added", "D": "deleted", "R": "renamed", "C": "copied",
           "T": "type changed", "U": "conflicted", "?": "untracked"}


def _describe_status(line: str) -> str:
    code, path = line[:2], line[3:]
    state = next((_STATES[c] for c in code if c in _STATES), "changed")
    return f"{path} ({state})"


def check_clean(repo: Path, only: Sequence[Path | str] | None = None) -> str:
    """No changes, staged or not, and no untracked files (ignored files do not count); with
    `only`, just those paths (the files a release commit will take)."""
    if only is not None:
        lines = git.status(repo, only) if only else []
        if lines:
            shown = ", ".join(_describe_status(ln) for ln in lines[:3])
            raise GitError(f"{shown}: the release commit would take these local changes too; "
                           "commit or stash them first")
        return "the files to commit have no local changes"
    lines = git.status(repo)
    if lines:
        shown = ", ".join(_describe_status(ln) for ln in lines[:3])
        more = f" and {len(lines) - 3} more" if len(lines) > 3 else ""
        raise GitError(f"working tree is not clean: {shown}{more}: commit, stash or remove "
                       "them first (git status)")
    return "working tree clean"


def check_branch(config: Config, repo: Path) -> str:
    """The checked-out branch is one the config allows a release from; returns its name."""
    allowed = ", ".join(config.branches)
    branch = git.current_branch(repo)
    if branch is None:
        raise GitError(f"HEAD is detached: switch to a release branch first (allowed: {allowed})")
    if not branch_allowed(config, branch):
        raise GitError(f"branch {branch!r} is not one a release may start from (allowed: "
                       f"{allowed}): switch to one, or add it to branches in the release config")
    return branch


def check_upstream(repo: Path, branch: str, fetched: set[str] | None = None, *,
                   fetch: bool = True) -> str:
    """When branch has an upstream: fetch, and refuse unless branch is level with it or a
    fast-forward of it. Without `fetch` (a dry run writes nothing, not even remote-tracking
    refs): compared with the upstream as last fetched."""
    up = git.upstream(repo, branch)
    if up is None:
        return f"{branch} has no upstream (nothing to compare)"
    fetched = set() if fetched is None else fetched
    if up.remote != "." and up.remote not in fetched and fetch:
        git.fetch(repo, up.remote)
        fetched.add(up.remote)
    said = check_level(repo, branch, up)
    return said if fetch or up.remote == "." else f"{said} (as last fetched: a dry run does " \
        "not fetch)"


def check_level(repo: Path, branch: str, up: git.Upstream) -> str:
    """The branch is level with its upstream's tracking ref, or a fast-forward of it."""
    if git.rev(repo, up.tracking) is None:
        raise GitError(f"{branch} tracks {up.short}, which does not exist: push {branch} or "
                       f"unset its upstream (git branch --unset-upstream {branch})")
    ahead, behind = git.ahead_behind(repo, f"refs/heads/{branch}", up.tracking)
    if ahead and behind:
        raise GitError(f"{branch} has diverged from {up.short} ({ahead} commit(s) only here, "
                       f"{behind} only there): rebase or merge, then run again")
    if behind:
        raise GitError(f"{branch} is {behind} commit(s) behind {up.short}: update it "
                       "(git pull --ff-only), then run again")
    if ahead:
        return f"{branch} is {ahead} commit(s) ahead of {up.short} (a fast-forward)"
    return f"{branch} is level with {up.short}"


def check_tag_free(repo: Path, tag: str, remote: str | None) -> str:
    """The tag exists neither here nor on the remote: tags never move."""
    here = git.tag_commit(repo, tag)
    if here is not None:
        raise GitError(f"tag {tag} already exists (on {git.short(here)}): tags never move; "
                       "release a new version (invoke bump)")
    if remote is not None:
        there = git.remote_tag_commit(repo, remote, tag)
        if there is not None:
            raise GitError(f"tag {tag} already exists on {remote} (on {git.short(there)}), "
                           "though not here: tags never move; fetch it (git fetch --tags "
                           f"{remote}) and release a new version")
    return f"tag {tag} is free here" + (f" and on {remote}" if remote else "")


def check_newer(repo: Path, train: Train, version: str, ref: str = "HEAD") -> str:
    """The version is greater than the train's last tag reachable from ref."""
    last = git.last_tag(repo, train.tag_format, train.name, ref)
    if last is None:
        return f"{train.name} {version}: no earlier {train.name} tag"
    if Version(version) <= last[0]:
        raise GitError(f"{train.name} {version} is not newer than its last tag {last[1]}: "
                       f"move to a new version first (invoke bump --train {train.name})")
    return f"{train.name} {version} is newer than its last tag {last[1]}"


def preflight(config: Config, train: Train | None = None, version: str | None = None, *,
              only: Sequence[Path | str] | None = None, fetch: bool = True) -> list[str]:
    """Every check a release step needs, in order; returns what was verified.

    `version` (as written) is the one about to be released: its tag must be free and newer
    than the last. `only` limits the clean-tree check to the files a release commit takes.
    Without `fetch` (dry runs), the upstream is compared as last fetched.
    """
    repo = config.root
    git.require_repo(repo)
    lines = [check_clean(repo, only)]
    branch = check_branch(config, repo)
    lines.append(f"on {branch}, a release branch")
    lines.append(check_upstream(repo, branch, fetch=fetch))
    if train is not None and version is not None:
        remote = git.default_remote(repo, branch)
        lines.append(check_tag_free(repo, train.tag(version), remote))
        lines.append(check_newer(repo, train, version))
    return lines


# --- tag/version agreement (the CI gate on a tag push) ----------------------------------------

def train_of_tag(config: Config, tag: str) -> tuple[Train, Version]:
    """The train whose tag format matches tag, and the version the tag names."""
    matches = []
    for train in config.trains.values():
        m = tag_pattern(train.tag_format, train.name).match(tag)
        version = parse_loose(m["version"]) if m else None
        if version is not None:
            matches.append((train, version))
    if not matches:
        formats = ", ".join(t.tag("{version}") for t in config.trains.values())
        raise ReleaseError(f"tag {tag!r} matches no train's tag format ({formats})")
    if len(matches) > 1:
        names = ", ".join(t.name for t, _ in matches)
        raise ReleaseError(f"tag {tag!r} matches several trains ({names}): give them distinct "
                           "tag-format values")
    return matches[0]


def _disagreement(listed: list[Problem]) -> str:
    more = f" (and {len(listed) - 1} more: invoke check)" if len(listed) > 1 else ""
    return f"{listed[0]}{more}"


def check_tag(root: Path, tag: str) -> str:
    """`invoke check --tag`: the tag names the version the files (and uv.lock) carry, every
    file agrees, and the tag, when it exists here, is the commit checked out."""
    config = load(root)
    train, tagged = train_of_tag(config, tag)
    found = scan(config)
    version = train_version(found, train)
    if version.version != tagged:
        raise ReleaseError(f"tag {tag} names {train.name} {tagged}, but the files carry "
                           f"{version}: tag the commit that carries {tagged}, or fix the files")
    listed = problems(config, found)
    if listed:
        raise ReleaseError(f"tag {tag}: files disagree: {_disagreement(listed)}")
    if git.toplevel(config.root) is not None:
        at = git.tag_commit(config.root, tag)
        head = git.rev(config.root, "HEAD")
        if at is not None and at != head:
            raise ReleaseError(f"tag {tag} is on {git.short(at)}, but HEAD is "
                               f"{git.short(head or '?')}: check out the tag first")
    lock = " and uv.lock" if (config.root / "uv.lock").is_file() else ""
    return f"ok: tag {tag} names {train.name} {version}, and every file{lock} agrees"


# --- the release tag and the push --------------------------------------------------------------

def config_in(config: Config, tree: Path) -> Config:
    """The release config as it stands in another checkout (worktree) of the repository."""
    top = git.require_repo(config.root)
    there = tree / config.root.resolve().relative_to(top.resolve())
    if config.checkout_of is not None:  # a downstream's own checkout: its config lives upstream
        return replace(config, root=there)
    return load(there)


def files_at(config: Config, ref: str, train: Train) -> tuple[Written, list[Problem]]:
    """The train's version in the files of ref (a clean checkout), and every disagreement
    among them: what a tag on ref would claim."""
    with clean_worktree(config.root, ref) as tree:
        there = config_in(config, tree)
        found = scan(there)
        return train_version(found, there.train(train.name)), problems(there, found)


def sign_wanted(repo: Path, sign: bool) -> bool:
    """--sign, or git configured to sign tags."""
    return sign or git.signing_configured(repo)
