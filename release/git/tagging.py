"""The release tag and the push: the one implementation behind `invoke tag`, `invoke push`
and the pipeline's tag, push and downstream stages.

A tag names the version the tagged commit's files carry, and is never moved. A push sends the
branch and exactly the tags of the releases it carries (every train's, a beta flow's too),
atomically; a release commit that lacks its tag is refused rather than published untagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from release import repo as git
from release.config import Config, Train
from release.errors import GitError, ReleaseError
from release.git.preflight import files_at, preflight, sign_wanted
from release.lock import config_root, locked
from release.redaction import redact
from release.repo import tag_pattern


@locked(config_root)
def tag_release(config: Config, train: Train, *, commit: str | None = None,
                version: str | None = None, sign: bool = False, dry_run: bool = False) -> str:
    """Tag commit (default HEAD) with the train's version its files carry, after preflight.
    The same tag on that commit already is a no-op; on another commit, an error. With
    `dry_run`, every check (preflight without its fetch), then what it would tag."""
    repo = config.root
    commit = commit or git.head(repo)
    written, listed = files_at(config, commit, train)
    if version is not None and written.text != version:
        raise ReleaseError(f"commit {git.short(commit)} carries {train.name} {written.text}, "
                           f"not {version}: not tagging it")
    tag = train.tag(written.text)
    existing = git.tag_commit(repo, tag)
    where = "HEAD" if commit == git.head(repo) else "the release commit"
    if existing == commit:
        return f"tag {tag} is already on {where} ({git.short(commit)}): nothing to do"
    if existing is not None:
        raise GitError(f"tag {tag} already exists on {git.short(existing)}, not on {where} "
                       f"({git.short(commit)}): tags never move; release a new version")
    lines = [f"ok: {line}" for line in preflight(config, train, written.text,
                                                 fetch=not dry_run)]
    if listed:
        more = f" (and {len(listed) - 1} more: invoke check)" if len(listed) > 1 else ""
        whose = "HEAD's" if commit == git.head(repo) else f"{git.short(commit)}'s"
        raise ReleaseError(f"{whose} files do not agree: {listed[0]}{more}: fix, commit, then "
                           "tag")
    signed = sign_wanted(repo, sign)
    kind = "signed" if signed else "annotated"
    if dry_run:
        subject = git.git(repo, "log", "-1", "--format=%s", commit, what="git log")
        lines.append(f"would tag {tag} ({kind}, message \"{train.name} {written.text}\") on "
                     f"{git.short(commit)} ({subject})")
        lines.append("dry run: nothing written")
        return "\n".join(lines)
    git.create_tag(repo, tag, f"{train.name} {written.text}", commit, sign=signed)
    lines.append(f"tagged {tag} ({kind}) on {git.short(commit)}; publish it with invoke push")
    return "\n".join(lines)


# --- release commits -------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseCommit:
    sha: str
    train: Train
    version: Version

    @property
    def tag(self) -> str:
        return self.train.tag(str(self.version))


def _message_pattern(config: Config) -> re.Pattern[str]:
    """The configured release commit message as a regex capturing train and version."""
    parts = re.split(r"(\{\w+\})", config.commit_message)
    pattern = ""
    for part in parts:
        if part == "{train}":
            pattern += r"(?P<train>\S+?)"
        elif part == "{version}":
            pattern += r"(?P<version>[^\s)]+)"
        elif re.fullmatch(r"\{\w+\}", part):
            pattern += r"\S+"
        else:
            pattern += re.escape(part)
    return re.compile("^" + pattern + r"(\s|$)")


def release_commit(config: Config, sha: str, subject: str) -> ReleaseCommit | None:
    """The release a commit makes, read from its subject (the release commit message)."""
    m = _message_pattern(config).match(subject)
    names = m.groupdict() if m else {}
    train = config.trains.get(names.get("train") or "") if m else None
    if train is None and m and "train" not in names and len(config.trains) == 1:
        train = next(iter(config.trains.values()))
    if m is None or train is None or not names.get("version"):
        return None
    try:
        return ReleaseCommit(sha, train, Version(names["version"]))
    except InvalidVersion:
        return None


def _unpushed(repo: Path, branch: str, remote: str) -> list[tuple[str, str, str]]:
    """(sha, first parent, subject) of the branch's commits no ref of remote has, newest
    first; the tip always included."""
    tip = f"refs/heads/{branch}"
    out = git.git(repo, "log", "--format=%H%x00%P%x00%s", tip, "--not", f"--remotes={remote}",
                  what="git log")
    rows = [tuple(line.split("\0")) for line in out.splitlines() if line]
    if not rows:
        rows = [tuple(git.git(repo, "log", "-1", "--format=%H%x00%P%x00%s", tip,
                              what="git log").split("\0"))]
    return [(sha, parents.split()[0] if parents else "", subject)
            for sha, parents, subject in rows]


def _is_step_ahead(repo: Path, made: ReleaseCommit, parent: str) -> bool:
    """Commits that move a branch on without releasing: a .dev version (main after a freeze),
    or a pre-release right after its train's tagged release (a version branch one beta ahead)."""
    if made.version.dev is not None:
        return True
    if not made.version.is_prerelease or not parent:
        return False
    return any(_is_train_tag(made.train, t) for t in git.tags_at(repo, parent))


def tags_to_push(config: Config, branch: str, remote: str) -> list[str]:
    """The release tags of the commits the push carries (and of the tip), oldest first;
    refuses a release commit without its tag."""
    repo = config.root
    tags: list[str] = []
    for sha, parent, subject in reversed(_unpushed(repo, branch, remote)):
        here = git.tags_at(repo, sha)
        made = release_commit(config, sha, subject)
        if made is not None and made.tag not in here and not _is_step_ahead(repo, made, parent):
            raise GitError(f"{git.short(sha)} ({subject}) is a release commit without its tag "
                           f"{made.tag}: tag it first (invoke tag --train {made.train.name}), "
                           "then push")
        ours = [t for t in here if any(_is_train_tag(train, t)
                                       for train in config.trains.values())]
        tags += sorted(ours)
    return tags


def _is_train_tag(train: Train, tag: str) -> bool:
    m = tag_pattern(train.tag_format, train.name).match(tag)
    if m is None:
        return False
    try:
        Version(m["version"])
    except InvalidVersion:
        return False
    return True


def _missing_on(repo: Path, remote: str, tags: list[str]) -> list[str]:
    there = git.remote_tags(repo, remote)
    return [t for t in tags if there.get(t) != git.tag_commit(repo, t)]


@locked(config_root)
def push_release(config: Config, *, branch: str | None = None, tag: str | None = None,
                 remote: str | None = None, dry_run: bool = False) -> str:
    """Push the branch and the tags of the releases it carries together (`git push
    --atomic`): all or nothing. With `tag`, that tag only (it must be on the branch). With
    `dry_run`, the refspecs and the remote it would push, nothing sent."""
    repo = config.root
    git.require_repo(repo)
    branch = branch or git.current_branch(repo)
    if branch is None:
        raise GitError("HEAD is detached: pass --branch to say which branch to push")
    if not git.branch_exists(repo, branch):
        raise GitError(f"no branch {branch!r} here: check the name (git branch)")
    remote = remote or git.default_remote(repo, branch)
    if remote is None:
        raise GitError("no remote to push to: add one (git remote add origin URL) or pass "
                       "--remote")
    if tag is not None:
        at = git.tag_commit(repo, tag)
        if at is None:
            raise GitError(f"no tag {tag} here: create it with invoke tag")
        if not git.is_ancestor(repo, at, f"refs/heads/{branch}"):
            raise GitError(f"tag {tag} ({git.short(at)}) is not on {branch}: push the branch "
                           "it was made on (--branch)")
        tags = [tag]
    else:
        tags = tags_to_push(config, branch, remote)
    missing = _missing_on(repo, remote, tags)
    up = git.upstream(repo, branch)
    target = up.merge if up is not None and up.remote == remote else f"refs/heads/{branch}"
    there = git.remote_branch_commit(repo, remote, target)
    if not missing and there == git.rev(repo, f"refs/heads/{branch}"):
        return f"nothing to push: {remote} has {branch} and every release tag on it"
    refspecs = [f"refs/heads/{branch}:{target}",
                *(f"refs/tags/{t}:refs/tags/{t}" for t in missing)]
    if dry_run:
        url = git.run_git(repo, "remote", "get-url", remote).stdout.strip()
        return "\n".join([f"would push to {remote} ({redact(url) or 'no URL'}), atomically"
                          + ("" if up is not None else f", and set {branch}'s upstream"),
                          *(f"  {spec}" for spec in refspecs),
                          "dry run: nothing sent"])
    git.push_atomic(repo, remote, refspecs, set_upstream=up is None)
    if not missing:
        return f"pushed {branch} to {remote} (no new release tag)"
    return f"pushed {branch} and {', '.join(missing)} to {remote} together"
