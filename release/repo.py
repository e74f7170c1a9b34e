"""Git, run through `release.proc`: queries that write nothing, and the few actions a release
takes (commit named files, create a tag, push atomically); checkouts beside the work tree
are `release.worktrees`.

Queries run with optional locks off, so asking `git status` never rewrites the index: a
refused release leaves the repository byte-for-byte as it was. Tags are only ever created,
never moved or deleted.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from release.errors import GitError
from release.proc import run

# Never rewrite the index while only looking; never wait for a password prompt.
_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def _env() -> dict[str, str]:
    return {**os.environ, **_ENV}


def run_git(repo: Path, *args: str, check: bool = False,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `git ARGS` in repo; the caller decides what a non-zero exit means."""
    return run(["git", *args], cwd=repo, env=_env(), check=check, input=input)


def reason(proc: subprocess.CompletedProcess[str]) -> str:
    """The line of a failed git command's output that says why."""
    lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    for line in lines:  # git's own verdict beats whatever hooks printed before it
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit {proc.returncode}"


def git(repo: Path, *args: str, what: str = "") -> str:
    """Run git and return its stripped output; GitError naming `what` failed otherwise."""
    proc = run_git(repo, *args)
    if proc.returncode != 0:
        raise GitError(f"{what or 'git ' + args[0]} failed: {reason(proc)}")
    return proc.stdout.strip()


def ok(repo: Path, *args: str) -> bool:
    """Does `git ARGS` succeed?"""
    return run_git(repo, *args).returncode == 0


# --- queries ---------------------------------------------------------------------------------

def toplevel(path: Path) -> Path | None:
    """The root of the git work tree holding path, or None outside git."""
    if not path.is_dir():
        return None
    proc = run_git(path, "rev-parse", "--show-toplevel")
    return Path(proc.stdout.strip()) if proc.returncode == 0 else None


def require_repo(path: Path) -> Path:
    top = toplevel(path)
    if top is None:
        raise GitError(f"{path} is not a git repository: run git init, or pass --repo")
    return top


def rev(repo: Path, ref: str) -> str | None:
    """The commit ref names (tags peeled), or None."""
    proc = run_git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return proc.stdout.strip() if proc.returncode == 0 else None


def head(repo: Path) -> str:
    sha = rev(repo, "HEAD")
    if sha is None:
        raise GitError("the repository has no commit yet: commit something first")
    return sha


def current_branch(repo: Path) -> str | None:
    """The checked-out branch, or None when HEAD is detached."""
    proc = run_git(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    return proc.stdout.strip() if proc.returncode == 0 else None


def branch_exists(repo: Path, branch: str) -> bool:
    return ok(repo, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}")


def status(repo: Path, paths: Sequence[Path | str] = ()) -> list[str]:
    """`git status --short` lines: changes, staged or not, and untracked files (not ignored
    ones), for the whole tree or only `paths`."""
    args = ["status", "--porcelain=v1", "-z", "--untracked-files=all"]
    if paths:
        args += ["--", *(str(p) for p in paths)]
    proc = run_git(repo, *args)
    if proc.returncode != 0:
        raise GitError(f"git status failed: {reason(proc)}")
    entries = proc.stdout.split("\0")  # not stripped: the first column may be a space
    lines, i = [], 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if not entry:
            continue
        if entry[0] in "RC":  # a rename names its source next
            i += 1
        lines.append(entry)
    return lines


@dataclass(frozen=True)
class Upstream:
    """The branch a local branch tracks: `remote` ("." for a local branch) and its ref."""

    remote: str
    merge: str  # refs/heads/main on the remote
    tracking: str  # the local ref that mirrors it, e.g. refs/remotes/origin/main

    @property
    def short(self) -> str:
        return self.tracking.removeprefix("refs/remotes/").removeprefix("refs/heads/")


def upstream(repo: Path, branch: str) -> Upstream | None:
    """The branch's upstream as configured (branch.NAME.remote and .merge, read in one call:
    every command's preflight asks), or None."""
    values = {}
    for entry in run_git(repo, "config", "-z", "--get-regexp", r"^branch\.").stdout.split("\0"):
        key, _, value = entry.partition("\n")
        values[key] = value.strip()  # the last one wins, as with git config --get
    remote, merge = values.get(f"branch.{branch}.remote"), values.get(f"branch.{branch}.merge")
    if not remote or not merge:
        return None
    name = merge.removeprefix("refs/heads/")
    if remote == ".":
        return Upstream(remote, merge, f"refs/heads/{name}")
    # The remote's fetch refspec says which local ref mirrors the branch.
    proc = run_git(repo, "for-each-ref", "--format=%(upstream)", f"refs/heads/{branch}")
    tracking = proc.stdout.strip() if proc.returncode == 0 else ""
    return Upstream(remote, merge, tracking or f"refs/remotes/{remote}/{name}")


def remotes(repo: Path) -> list[str]:
    return git(repo, "remote", what="git remote").split()


def default_remote(repo: Path, branch: str | None) -> str | None:
    """The remote a release talks to: the branch's upstream remote, else origin, else the
    only remote, else None."""
    up = upstream(repo, branch) if branch else None
    if up is not None and up.remote != ".":
        return up.remote
    names = remotes(repo)
    if "origin" in names:
        return "origin"
    return names[0] if len(names) == 1 else None


def fetch(repo: Path, remote: str) -> None:
    """Bring the remote's branches up to date (no tags, no FETCH_HEAD: only what we compare)."""
    proc = run_git(repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote)
    if proc.returncode != 0:
        raise GitError(f"cannot fetch {remote} ({reason(proc)}): check the remote and the "
                       "network, then run again")


def ahead_behind(repo: Path, ref: str, other: str) -> tuple[int, int]:
    """How many commits ref has that other lacks, and the other way round."""
    out = git(repo, "rev-list", "--left-right", "--count", f"{ref}...{other}",
              what="git rev-list")
    ahead, behind = out.split()
    return int(ahead), int(behind)


def is_ancestor(repo: Path, ancestor: str, ref: str) -> bool:
    return ok(repo, "merge-base", "--is-ancestor", ancestor, ref)


def tag_commit(repo: Path, tag: str) -> str | None:
    """The commit a local tag points at, or None when there is no such tag."""
    return rev(repo, f"refs/tags/{tag}")


def remote_tag_commit(repo: Path, remote: str, tag: str) -> str | None:
    """The commit a tag names on the remote (annotated tags peeled), or None."""
    proc = run_git(repo, "ls-remote", "--tags", remote, f"refs/tags/{tag}",
                   f"refs/tags/{tag}^{{}}")
    if proc.returncode != 0:
        raise GitError(f"cannot list the tags of {remote} ({reason(proc)}): check the remote")
    found: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        found[ref] = sha
    return found.get(f"refs/tags/{tag}^{{}}") or found.get(f"refs/tags/{tag}")


def remote_tags(repo: Path, remote: str) -> dict[str, str]:
    """Every tag on the remote and the commit it names (annotated tags peeled)."""
    proc = run_git(repo, "ls-remote", "--tags", remote)
    if proc.returncode != 0:
        raise GitError(f"cannot list the tags of {remote} ({reason(proc)}): check the remote")
    found: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/")
        if name.endswith("^{}"):
            found[name[:-3]] = sha
        else:
            found.setdefault(name, sha)
    return found


def remote_branch_commit(repo: Path, remote: str, ref: str) -> str | None:
    """The commit a branch (refs/heads/...) is at on the remote, or None."""
    proc = run_git(repo, "ls-remote", remote, ref)
    if proc.returncode != 0:
        raise GitError(f"cannot list the branches of {remote} ({reason(proc)}): check the remote")
    for line in proc.stdout.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None


def remote_branch_exists(repo: Path, remote: str, branch: str) -> bool:
    proc = run_git(repo, "ls-remote", "--heads", remote, f"refs/heads/{branch}")
    if proc.returncode != 0:
        raise GitError(f"cannot list the branches of {remote} ({reason(proc)}): check the remote")
    return bool(proc.stdout.strip())


def release_tags(repo: Path, tag_format: str, train: str,
                 merged: str | None = "HEAD") -> list[tuple[Version, str]]:
    """The train's tags (those reachable from `merged`, or all), oldest version first."""
    args = ["tag", "--list"] + (["--merged", merged] if merged else [])
    pattern = tag_pattern(tag_format, train)
    found = []
    for name in git(repo, *args, what="git tag --list").splitlines():
        m = pattern.match(name.strip())
        if m:
            try:
                found.append((Version(m["version"]), name.strip()))
            except InvalidVersion:
                continue
    return sorted(found)


def tags_at(repo: Path, commit: str) -> list[str]:
    """Every tag (any train) pointing at commit, annotated tags peeled."""
    out = git(repo, "tag", "--points-at", commit, what="git tag --points-at")
    return [name for name in out.splitlines() if name]


def _commits_nearest_first(repo: Path, ref: str) -> Iterator[str]:
    """Commits reachable from ref, nearest first: the first-parent line (the branch's own
    history), then whatever merges brought in, newest first."""
    seen: set[str] = set()
    for args in (("--first-parent",), ("--topo-order",)):
        out = git(repo, "rev-list", *args, ref, what=f"git rev-list {ref}")
        for sha in out.split():
            if sha not in seen:
                seen.add(sha)
                yield sha


def nearest_tags(repo: Path, tag_format: str, train: str,
                 ref: str = "HEAD") -> list[tuple[Version, str]]:
    """The train's tags reachable from ref, nearest by ancestry first (several tags on one
    commit: highest version first). Tags on other lines of history never count."""
    if rev(repo, ref) is None:
        return []
    pattern = tag_pattern(tag_format, train)
    out = git(repo, "for-each-ref", "--merged", ref, "--format=%(refname:strip=2)%00"
              "%(objectname)%00%(*objectname)", "refs/tags", what="git for-each-ref")
    by_commit: dict[str, list[tuple[Version, str]]] = {}
    for line in out.splitlines():
        name, sha, peeled = line.split("\0")
        m = pattern.match(name)
        try:
            version = Version(m["version"]) if m else None
        except InvalidVersion:
            version = None
        if version is not None:
            by_commit.setdefault(peeled or sha, []).append((version, name))
    if not by_commit:
        return []
    ordered: list[tuple[Version, str]] = []
    for sha in _commits_nearest_first(repo, ref):
        ordered += sorted(by_commit.pop(sha, []), reverse=True)
        if not by_commit:
            break
    return ordered


def last_tag(repo: Path, tag_format: str, train: str, ref: str = "HEAD", *,
             below: Version | None = None, final: bool = False) -> tuple[Version, str] | None:
    """The train's last release: its nearest tag reachable from ref (by ancestry, not the
    highest version), optionally only one older than `below`, or only a final."""
    for version, name in nearest_tags(repo, tag_format, train, ref):
        if (below is None or version < below) and not (final and version.is_prerelease):
            return version, name
    return None


def signing_configured(repo: Path) -> bool:
    """Is git set to sign tags (`tag.gpgSign`)? GPG and SSH (gpg.format) both count."""
    proc = run_git(repo, "config", "--type=bool", "--get", "tag.gpgSign")
    return proc.stdout.strip() == "true"


def short(sha: str) -> str:
    return sha[:12]


# --- actions ---------------------------------------------------------------------------------

def commit_paths(repo: Path, paths: Sequence[Path | str], message: str) -> str:
    """Commit exactly `paths` as they are in the work tree (`git commit --only`): whatever
    else is staged or edited stays as it was. Hooks run. Returns the new commit."""
    proc = run_git(repo, "commit", "--quiet", "--only", "-m", message, "--",
                   *(str(p) for p in paths))
    if proc.returncode != 0:
        raise GitError(f"git commit failed ({reason(proc)}); the version edits were rolled back")
    return head(repo)


def create_tag(repo: Path, tag: str, message: str, commit: str, *, sign: bool) -> None:
    """An annotated (signed if asked) tag on commit. Refuses to replace an existing tag."""
    proc = run_git(repo, "tag", "-s" if sign else "-a", "-m", message, tag, commit)
    if proc.returncode != 0:
        how = "signed tag" if sign else "tag"
        hint = ": check user.signingKey and gpg.format" if sign else ""
        raise GitError(f"creating {how} {tag} failed ({reason(proc)}){hint}")


_REJECTED = re.compile(r"^!\t(?P<ref>\S+)\t(?P<reason>.*)$")


def push_atomic(repo: Path, remote: str, refspecs: Sequence[str], *,
                set_upstream: bool = False) -> None:
    """Push every refspec or none (`--atomic`); a rejection raises GitError with git's and
    the remote's reason. Nothing local changes when the push is rejected."""
    args = ["push", "--atomic", "--porcelain"] + (["--set-upstream"] if set_upstream else [])
    proc = run_git(repo, *args, remote, *refspecs)
    if proc.returncode == 0:
        return
    reasons = [m["reason"] for ln in proc.stdout.splitlines() if (m := _REJECTED.match(ln))]
    said = [ln.removeprefix("remote:").strip() for ln in proc.stderr.splitlines()
            if ln.startswith("remote:") and ln.removeprefix("remote:").strip()]
    why = reasons[0] if reasons else reason(proc)
    extra = f" (remote said: {said[0]})" if said else ""
    raise GitError(f"push to {remote} rejected: {why}{extra}; nothing was pushed and "
                   "nothing changed here: fix the cause, then run invoke push again")


def tracked_files(repo: Path) -> list[Path] | None:
    """Files git knows here (tracked, or untracked and not ignored), relative to repo; None
    outside a git repository."""
    proc = run_git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if proc.returncode != 0:
        return None
    return sorted({Path(p) for p in proc.stdout.split("\0") if p})


def tag_name(tag_format: str, train: str, version: str) -> str:
    """The tag for a train's version, e.g. `{train}-v{version}` -> `core-v1.2.0`; a version
    written `v0.4.2` in the files is still tagged `v0.4.2`, never `vv0.4.2`."""
    if re.match(r"[vV]\d", version) and tag_format.partition("{version}")[0][-1:] in ("v", "V"):
        version = version[1:]
    return tag_format.format(train=train, version=version)


def tag_pattern(tag_format: str, train: str) -> re.Pattern[str]:
    """A regex matching the train's tags and capturing the version."""
    before, _, after = tag_format.partition("{version}")
    return re.compile(
        "^" + re.escape(before.format(train=train)) + r"(?P<version>.+?)"
        + re.escape(after.format(train=train)) + "$"
    )
