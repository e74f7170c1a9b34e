"""Checkouts beside the work tree: a clean detached worktree of a commit or tag (with its
submodules, from the repository's own copies, never fetched), where builds and gates run, and
a branch's checkout to commit on without switching the work tree. Both are removed afterwards,
even on error.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from release.errors import GitError
from release.repo import current_branch, git, ok, reason, rev, run_git, short


@contextmanager
def clean_worktree(repo: Path, ref: str) -> Iterator[Path]:
    """A detached checkout of ref (commit or tag) in a temporary directory, removed
    afterwards, even on error. Builds run only from here, never from a work tree."""
    commit = rev(repo, ref)
    if commit is None:
        raise GitError(f"{ref!r} is not a commit or tag here: check the name (git tag --list)")
    base = Path(tempfile.mkdtemp(prefix="release-train-wt-"))
    path = base / "tree"
    try:
        git(repo, "worktree", "add", "--quiet", "--detach", str(path), commit,
            what=f"git worktree add {ref}")
        _fill_submodules(repo, path, commit)
        yield path
    finally:
        _remove_worktree(repo, path)
        shutil.rmtree(base, ignore_errors=True)


def submodules(repo: Path, commit: str) -> list[tuple[str, str]]:
    """(path, commit) of every submodule (gitlink) at commit."""
    listing = git(repo, "ls-tree", "-r", "-z", commit, what="git ls-tree")
    found = []
    for entry in listing.split("\0"):
        meta, _, name = entry.partition("\t")
        fields = meta.split()
        if len(fields) == 3 and fields[0] == "160000":
            found.append((name, fields[2]))
    return found


def _submodule_names(repo: Path, commit: str) -> dict[str, str]:
    """path -> name, from .gitmodules at commit (git keeps a submodule's repository under
    .git/modules/<name>)."""
    proc = run_git(repo, "config", "--blob", f"{commit}:.gitmodules", "-z", "--get-regexp",
                   r"^submodule\..*\.path$")
    names = {}
    for item in proc.stdout.split("\0") if proc.returncode == 0 else []:
        key, _, value = item.partition("\n")
        if key:
            names[value] = key.removeprefix("submodule.").removesuffix(".path")
    return names


def _fill_submodules(repo: Path, tree: Path, commit: str) -> None:
    """Check out every submodule of commit inside the clean worktree, from the repository's
    own copy of it (.git/modules/<name>, or the submodule's own .git): no network. A submodule
    that is not here (never initialised) or lacks the recorded commit is refused in one line:
    a build without it would silently leave its packages out."""
    found = submodules(repo, commit)
    if not found:
        return
    names = _submodule_names(repo, commit)
    common = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir",
                      what="git rev-parse"))
    top = Path(git(repo, "rev-parse", "--show-toplevel", what="git rev-parse"))
    for sub_path, sub_commit in found:
        name = names.get(sub_path, sub_path)
        sources = [common / "modules" / name, top / sub_path / ".git"]
        source = next((s for s in sources if s.is_dir() and ok(
            s, "cat-file", "-e", f"{sub_commit}^{{commit}}")), None)
        if source is None:
            raise GitError(f"submodule {sub_path} (commit {short(sub_commit)}) is not available "
                           f"here: a build would leave out what it holds; run git submodule "
                           f"update --init {sub_path} (it is taken from this repository's own "
                           "copy, never fetched), then run the command again")
        target = tree / sub_path
        git(repo, "-c", "protocol.file.allow=always", "clone", "--quiet", "--shared",
            "--no-checkout", str(source), str(target), what=f"copy submodule {sub_path}")
        git(target, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach",
            sub_commit, what=f"check out submodule {sub_path}")
        if submodules(target, sub_commit):
            raise GitError(f"submodule {sub_path} has submodules of its own: release-train "
                           "builds one level of submodules; move those packages up a level")


@contextmanager
def branch_checkout(repo: Path, branch: str) -> Iterator[Path]:
    """Somewhere to work on `branch`: the repository itself when it has that branch checked
    out, else a temporary worktree of the branch, removed afterwards."""
    if current_branch(repo) == branch:
        yield repo
        return
    base = Path(tempfile.mkdtemp(prefix="release-train-br-"))
    path = base / "tree"
    try:
        proc = run_git(repo, "worktree", "add", "--quiet", str(path), branch)
        if proc.returncode != 0:
            raise GitError(f"cannot check out {branch} ({reason(proc)}): if it is checked out "
                           "in another worktree, switch that one away first")
        yield path
    finally:
        _remove_worktree(repo, path)
        shutil.rmtree(base, ignore_errors=True)


def _remove_worktree(repo: Path, path: Path) -> None:
    if path.exists() and run_git(repo, "worktree", "remove", "--force", "--force",
                                 str(path)).returncode == 0:
        return
    shutil.rmtree(path, ignore_errors=True)
    run_git(repo, "worktree", "prune")  # a worktree holding submodules is removed by hand
    run_git(repo, "worktree", "prune")  # forget the worktree whose directory we removed
