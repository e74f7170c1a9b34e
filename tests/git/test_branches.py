"""Release branches and the beta-branch model, through `invoke`, on real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from release import repo as git
from release.config import load
from release.git.branches import version_branch_pattern
from tests.helpers.onetrain import (
    RELEASE,
    clone,
    commit_file,
    make_repo,
    ok,
    refused,
    sh,
    task,
    version_in,
)
from tests.helpers.repos import snapshot

BETA = RELEASE.replace("[tool.release]\n", '[tool.release]\ntag-format = "v{version}"\n')


def tag_subject(repo: Path, tag: str) -> str:
    return sh(repo, "tag", "-l", "--format=%(objecttype) %(contents:subject)", tag)


# --- release branches --------------------------------------------------------------------------

def test_branch_is_cut_from_main_and_named_for_the_version(tmp_path: Path) -> None:
    work, _ = make_repo(tmp_path)
    main = sh(work, "rev-parse", "main")
    out = ok("branch", "--train", "core", "--part", "minor", repo=work)
    assert f"created release/core-v1.1.0 from main ({main[:12]}) and switched to it" in out
    assert "next: invoke bump --train core --to 1.1.0 --commit" in out
    assert git.current_branch(work) == "release/core-v1.1.0"
    assert sh(work, "rev-parse", "HEAD") == main
    # The release then happens on the branch, which preflight allows.
    ok("bump", "--to", "1.1.0", "--commit", repo=work)
    ok("tag", repo=work)
    ok("push", repo=work)
    refused("branch", "--part", "minor", repo=work, says="branch release/core-v1.1.0 already "
                                                          "exists: switch to it")


def test_branch_refuses_a_main_behind_its_upstream(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path)
    other = clone(origin, tmp_path / "other")
    commit_file(other, "notes.txt", "newer\n")
    sh(other, "push", "-q", "origin", "main")
    sh(work, "fetch", "-q", "origin")
    refused("branch", "--part", "patch", repo=work, also=origin,
            says="main is 1 commit(s) behind origin/main")


def test_branch_refuses_a_name_taken_on_origin(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path)
    sh(work, "push", "-q", "origin", "main:refs/heads/release/core-v1.0.1")
    refused("branch", "--part", "patch", repo=work, also=origin,
            says="branch release/core-v1.0.1 already exists on origin")


def test_branch_name_is_configurable_and_cut_from_main_wherever_we_are(tmp_path: Path) -> None:
    release = BETA + '[tool.release.branch-model]\nrelease-branch = "rel/{train}/{version}"\n'
    work, _ = make_repo(tmp_path, release=release)
    main = sh(work, "rev-parse", "main")
    sh(work, "switch", "-q", "-c", "elsewhere")
    commit_file(work, "notes.txt", "not on main\n")
    ok("branch", "--to", "2.0.0", repo=work)
    assert git.current_branch(work) == "rel/core/2.0.0"
    assert sh(work, "rev-parse", "HEAD") == main


# --- the beta-branch model ---------------------------------------------------------------------

def test_beta_model_freeze_two_betas_and_a_final(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path, "0.12.0.dev3", release=BETA)

    out = ok("freeze", repo=work)
    assert "created rc at main" in out and "main: core 0.12.0.dev3 -> 0.13.0.dev1" in out
    assert version_in(work, "rc") == "0.12.0.dev3"
    assert version_in(work, "main") == "0.13.0.dev1"
    assert sh(work, "log", "-1", "--format=%s", "main") == "chore(release): core 0.13.0.dev1"

    out = ok("cut-beta", repo=work)
    assert "created 0.12 from rc; 0.12.0.dev3 -> 0.12.0b1" in out
    assert version_in(work, "v0.12.0b1") == "0.12.0b1"
    assert tag_subject(work, "v0.12.0b1") == "tag core 0.12.0b1"
    assert sh(work, "rev-parse", "v0.12.0b1^{commit}") == sh(work, "rev-parse", "0.12~1")
    assert version_in(work, "0.12") == "0.12.0b2"  # one beta ahead

    # A fix lands on the version branch, then the second beta.
    sh(work, "switch", "-q", "0.12")
    commit_file(work, "notes.txt", "a fix\n", "fix: something")
    fix = sh(work, "rev-parse", "HEAD")
    sh(work, "switch", "-q", "main")
    out = ok("cut-beta", repo=work)
    assert f"0.12: tagged v0.12.0b2 on {fix[:12]}" in out
    assert version_in(work, "v0.12.0b2") == "0.12.0b2"
    assert version_in(work, "0.12") == "0.12.0b3"

    # The final, from the version branch's own checkout.
    sh(work, "switch", "-q", "0.12")
    out = ok("final", repo=work)
    assert "0.12: 0.12.0b3 -> 0.12.0" in out and "tagged v0.12.0" in out
    assert version_in(work, "v0.12.0") == "0.12.0"
    assert version_in(work, "0.12") == "0.12.1b1"  # on to the next patch's first beta
    assert (work / "core/pyproject.toml").read_text().count("0.12.1b1") == 1
    assert git.status(work) == []

    # Other branches did not move; tags are where they were made.
    assert version_in(work, "main") == "0.13.0.dev1"
    assert version_in(work, "rc") == "0.12.0.dev3"
    assert [t for _, t in git.release_tags(work, "v{version}", "core", merged=None)] == [
        "v0.12.0b1", "v0.12.0b2", "v0.12.0"]
    assert len(sh(work, "worktree", "list").splitlines()) == 1

    ok("push", "--branch", "0.12", repo=work)
    assert sh(origin, "rev-parse", "v0.12.0^{commit}") == sh(work, "rev-parse", "0.12~1")

    # The next freeze fast-forwards rc to main.
    sh(work, "switch", "-q", "main")
    out = ok("freeze", repo=work)
    assert "fast-forwarded rc" in out
    assert version_in(work, "rc") == "0.13.0.dev1"
    assert version_in(work, "main") == "0.14.0.dev1"


def test_beta_model_branch_names_are_configurable(tmp_path: Path) -> None:
    release = BETA + ('[tool.release.branch-model]\nrc = "stable"\n'
                      'version-branch = "maint/{major}.{minor}.x"\n')
    work, _ = make_repo(tmp_path, "2.3.0.dev1", release=release)
    ok("freeze", repo=work)
    ok("cut-beta", repo=work)
    assert version_in(work, "stable") == "2.3.0.dev1"
    assert version_in(work, "maint/2.3.x") == "2.3.0b2"
    refused("final", repo=work, says="main is not a version branch (maint/{major}.{minor}.x)")
    ok("final", "--branch", "maint/2.3.x", repo=work)
    assert version_in(work, "maint/2.3.x") == "2.3.1b1"
    pattern = version_branch_pattern("maint/{major}.{minor}.x", load(work).train("core"))
    assert pattern.match("maint/2.3.x") and not pattern.match("maint/2.x.x")


def test_freeze_refuses_a_main_not_at_a_dev_version(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path, "1.0.0", release=BETA)
    refused("freeze", repo=work, also=origin,
            says="main carries core 1.0.0, but the beta-branch model keeps main at X.Y.0.devN")
    sh(work, "branch", "rc")
    refused("cut-beta", repo=work, also=origin, says="rc carries core 1.0.0, not X.Y.Z.devN")


def test_freeze_refuses_a_dirty_tree_and_cut_beta_needs_rc(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path, "0.5.0.dev2", release=BETA)
    refused("cut-beta", repo=work, also=origin, says="no branch 'rc' here: run invoke freeze")
    (work / "notes.txt").write_text("dirty\n")
    refused("freeze", repo=work, also=origin, says="working tree is not clean")


def test_cut_beta_refuses_a_tag_already_on_origin(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path, "0.5.0.dev2", release=BETA)
    ok("freeze", repo=work)
    sh(work, "tag", "-a", "-m", "x", "v0.5.0b1", "main")
    sh(work, "push", "-q", "origin", "v0.5.0b1")
    sh(work, "tag", "-d", "v0.5.0b1")
    refused("cut-beta", repo=work, also=origin, says="tag v0.5.0b1 already exists on origin")
    assert not git.branch_exists(work, "0.5")


def test_a_failing_commit_during_freeze_moves_no_branch(tmp_path: Path) -> None:
    work, _ = make_repo(tmp_path, "0.5.0.dev2", release=BETA)
    hook = work / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    main = sh(work, "rev-parse", "main")
    out = task("freeze", repo=work)
    assert out.returncode != 0 and "git commit failed" in out.stderr
    assert sh(work, "rev-parse", "main") == main
    assert not git.branch_exists(work, "rc")
    assert git.status(work) == []
    # With an existing rc behind main, the merge is undone too.
    hook.unlink()
    sh(work, "branch", "rc", "main")
    commit_file(work, "notes.txt", "more work on main\n")
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    before = sh(work, "rev-parse", "rc"), sh(work, "rev-parse", "main")
    assert task("freeze", repo=work).returncode != 0
    assert (sh(work, "rev-parse", "rc"), sh(work, "rev-parse", "main")) == before
    assert len(sh(work, "worktree", "list").splitlines()) == 1


@pytest.mark.parametrize("where", ["main", "rc"])
def test_cut_beta_refusal_changes_nothing_from_any_branch(tmp_path: Path, where: str) -> None:
    work, origin = make_repo(tmp_path, "0.5.0.dev2", release=BETA)
    ok("freeze", repo=work)
    sh(work, "switch", "-q", where)
    sh(work, "tag", "-a", "-m", "x", "v0.6.0", "rc")  # newer than the beta to come
    before = snapshot(work)
    refused("cut-beta", repo=work, also=origin, says="core 0.5.0b1 is not newer than its "
                                                     "last tag v0.6.0")
    assert snapshot(work) == before
