"""release.repo against real git: status, tags by version, worktrees that vanish, signed tags."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from release import repo as git
from release import worktrees
from release.errors import GitError
from tests.helpers.onetrain import clone, commit_file, make_repo, ok, sh
from tests.helpers.repos import env, snapshot

# --- release.repo -------------------------------------------------------------------------------

def test_status_counts_untracked_but_not_ignored(tmp_path: Path) -> None:
    work, _ = make_repo(tmp_path)
    assert git.status(work) == []
    (work / "build.log").write_text("ignored\n")
    assert git.status(work) == []
    (work / "new.txt").write_text("untracked\n")
    (work / "notes.txt").write_text("edited\n")
    assert sorted(git.status(work)) == [" M notes.txt", "?? new.txt"]
    assert git.status(work, ["notes.txt"]) == [" M notes.txt"]
    assert git.status(work, ["docs/install.md"]) == []


def test_status_does_not_rewrite_the_index(tmp_path: Path) -> None:
    work, _ = make_repo(tmp_path)
    later = (work / "notes.txt").stat().st_mtime + 5
    os.utime(work / "notes.txt", (later, later))  # same bytes, new mtime: a stale index entry
    before = snapshot(work)
    git.status(work)
    assert snapshot(work) == before


def test_tags_sort_by_version_and_only_reachable_ones_count(tmp_path: Path) -> None:
    work, _ = make_repo(tmp_path)
    for name in ("core-v1.9.0", "core-v1.10.0", "core-v1.10.0rc1", "other-v9.0.0", "core-vX"):
        sh(work, "tag", "-a", "-m", name, name)
    sh(work, "switch", "-q", "-c", "side")
    commit_file(work, "notes.txt", "side\n")
    sh(work, "tag", "-a", "-m", "x", "core-v2.0.0")
    sh(work, "switch", "-q", "main")
    assert [t for _, t in git.release_tags(work, "{train}-v{version}", "core")] == [
        "core-v1.9.0", "core-v1.10.0rc1", "core-v1.10.0"]
    on_main = git.last_tag(work, "{train}-v{version}", "core")
    on_side = git.last_tag(work, "{train}-v{version}", "core", "side")
    assert on_main is not None and on_main[1] == "core-v1.10.0"
    assert on_side is not None and on_side[1] == "core-v2.0.0"
    assert git.last_tag(work, "{train}-v{version}", "ext") is None


def test_upstream_and_ahead_behind(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path)
    up = git.upstream(work, "main")
    assert up is not None and (up.remote, up.merge, up.short) == ("origin", "refs/heads/main",
                                                                  "origin/main")
    other = clone(origin, tmp_path / "other")
    commit_file(other, "notes.txt", "from elsewhere\n")
    sh(other, "push", "-q", "origin", "main")
    git.fetch(work, "origin")
    commit_file(work, "docs/extra.md", "local\n")
    assert git.ahead_behind(work, "refs/heads/main", up.tracking) == (1, 1)
    assert git.upstream(work, "nope") is None
    # A local upstream; a remote branch not fetched yet; a remote that is not configured.
    sh(work, "branch", "--track", "feature", "main")
    assert git.upstream(work, "feature") == git.Upstream(".", "refs/heads/main", "refs/heads/main")
    sh(work, "branch", "unfetched")
    sh(work, "config", "branch.unfetched.remote", "origin")
    sh(work, "config", "branch.unfetched.merge", "refs/heads/later")
    assert git.upstream(work, "unfetched") == git.Upstream(
        "origin", "refs/heads/later", "refs/remotes/origin/later")
    sh(work, "config", "branch.unfetched.remote", "gone")
    assert git.upstream(work, "unfetched") == git.Upstream(
        "gone", "refs/heads/later", "refs/remotes/gone/later")
    sh(work, "branch", "half")
    sh(work, "config", "branch.half.remote", "origin")
    assert git.upstream(work, "half") is None


def test_clean_worktree_is_a_detached_checkout_removed_afterwards(tmp_path: Path) -> None:
    work, _ = make_repo(tmp_path)
    first = sh(work, "rev-parse", "HEAD")
    sh(work, "tag", "-a", "-m", "t", "core-v1.0.0")
    commit_file(work, "notes.txt", "later\n")
    (work / "notes.txt").write_text("dirty, and not in any checkout\n")
    before = snapshot(work)
    with worktrees.clean_worktree(work, "core-v1.0.0") as tree:
        assert (tree / "notes.txt").read_text() == "unrelated notes\n"
        assert sh(tree, "rev-parse", "HEAD") == first
        assert git.current_branch(tree) is None  # detached
        kept = tree
    assert not kept.exists() and not kept.parent.exists()
    assert "core-v1.0.0" not in sh(work, "worktree", "list")
    assert len(sh(work, "worktree", "list").splitlines()) == 1
    assert snapshot(work) == before


def test_clean_worktree_is_removed_even_on_error(tmp_path: Path) -> None:
    work, _ = make_repo(tmp_path)
    before = snapshot(work)
    with pytest.raises(RuntimeError), worktrees.clean_worktree(work, "HEAD") as tree:
        kept = tree
        raise RuntimeError("build failed")
    assert not kept.exists()
    assert len(sh(work, "worktree", "list").splitlines()) == 1
    assert snapshot(work) == before
    with pytest.raises(GitError, match="not a commit or tag"), \
            worktrees.clean_worktree(work, "no-such-tag"):
        pass


def test_branch_checkout_uses_the_checkout_or_a_temporary_worktree(tmp_path: Path) -> None:
    work, _ = make_repo(tmp_path)
    sh(work, "branch", "rc")
    with worktrees.branch_checkout(work, "main") as here:
        assert here == work
    with worktrees.branch_checkout(work, "rc") as there:
        assert there != work and git.current_branch(there) == "rc"
        kept = there
    assert not kept.exists()
    assert len(sh(work, "worktree", "list").splitlines()) == 1


def test_create_tag_never_replaces_a_tag(tmp_path: Path) -> None:
    work, _ = make_repo(tmp_path)
    head = git.head(work)
    git.create_tag(work, "core-v1.0.0", "core 1.0.0", head, sign=False)
    assert sh(work, "cat-file", "-t", "core-v1.0.0") == "tag"  # annotated
    second = commit_file(work, "notes.txt", "more\n")
    with pytest.raises(GitError, match="already exists"):
        git.create_tag(work, "core-v1.0.0", "core 1.0.0", second, sign=False)
    assert git.tag_commit(work, "core-v1.0.0") == head


def test_push_atomic_reports_a_rejection(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path)
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'releases are frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    commit_file(work, "notes.txt", "more\n")
    with pytest.raises(GitError) as info:
        git.push_atomic(work, "origin", ["refs/heads/main:refs/heads/main"])
    message = str(info.value)
    assert "pre-receive hook declined" in message and "releases are frozen today" in message
    assert "\n" not in message


def test_signed_tag_verifies(tmp_path: Path) -> None:
    """`invoke tag` signs when git is configured to (SSH signing, throwaway key)."""
    work, _ = make_repo(tmp_path)
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "t", "-f", str(key)],
                   check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"tester@example.invalid {(tmp_path / 'key.pub').read_text()}")
    for name, value in [("gpg.format", "ssh"), ("user.signingkey", f"{key}.pub"),
                        ("gpg.ssh.allowedSignersFile", str(allowed)), ("tag.gpgSign", "true")]:
        sh(work, "config", name, value)
    out = ok("tag", "--train", "core", repo=work)
    assert "tagged core-v1.0.0 (signed)" in out
    verified = subprocess.run(["git", "tag", "-v", "core-v1.0.0"], cwd=work, env=env(),
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert 'Good "git" signature' in verified.stderr
    # --sign works without the config too; an unsigned tag does not verify.
    sh(work, "config", "tag.gpgSign", "false")
    commit_file(work, "notes.txt", "more\n")
    ok("bump", "--part", "patch", "--commit", repo=work)
    assert "tagged core-v1.0.1 (signed)" in ok("tag", "--sign", repo=work)
    assert subprocess.run(["git", "tag", "-v", "core-v1.0.1"], cwd=work, env=env(),
                          capture_output=True).returncode == 0
