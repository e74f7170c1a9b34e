"""Preflight, release commit, tag, push and tag/version agreement, through `invoke`.

Every refusal is provoked for real (a local bare repository is `origin`) and must leave the
repository, and origin, byte-for-byte as they were.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from release import repo as git
from release.config import load
from release.errors import GitError
from release.git.preflight import check_clean, check_upstream, preflight
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


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    return make_repo(tmp_path)


# --- preflight ---------------------------------------------------------------------------------

def test_preflight_passes_on_a_clean_release_branch(repo: tuple[Path, Path]) -> None:
    work, _ = repo
    (work / "build.log").write_text("ignored files do not count\n")
    out = ok("preflight", "--train", "core", "--part", "minor", repo=work)
    assert out.splitlines() == [
        "ok: working tree clean",
        "ok: on main, a release branch",
        "ok: main is level with origin/main",
        "ok: tag core-v1.1.0 is free here and on origin",
        "ok: core 1.1.0: no earlier core tag",
    ] + [f"warning: could not check whether core 1.1.0 is free on {index} (http://127.0.0.1:9/"
         f"simple/): cannot reach the index at http://127.0.0.1:9/simple/core/: connection "
         "refused (gave up after 2 attempts); going on (--require-index-check refuses instead)"
         for index in ("testpypi", "pypi")]


def test_preflight_refuses_a_dirty_tree(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    (work / "notes.txt").write_text("edited\n")
    refused("preflight", "--part", "patch", repo=work, also=origin,
            says="working tree is not clean: notes.txt (modified)")


def test_preflight_refuses_an_untracked_file(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    (work / "scratch.py").write_text("print()\n")
    refused("preflight", "--part", "patch", repo=work, also=origin,
            says="scratch.py (untracked): commit, stash or remove them first")


def test_preflight_refuses_a_staged_change(repo: tuple[Path, Path]) -> None:
    work, _ = repo
    (work / "notes.txt").write_text("edited\n")
    sh(work, "add", "notes.txt")
    refused("preflight", repo=work, says="notes.txt (modified)")


def test_preflight_refuses_a_branch_the_config_does_not_allow(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    sh(work, "switch", "-q", "-c", "feature/x")
    refused("preflight", "--part", "patch", repo=work, also=origin,
            says="branch 'feature/x' is not one a release may start from (allowed: main, "
                 "release/*)")
    sh(work, "switch", "-q", "--detach", "main")
    refused("preflight", repo=work, says="HEAD is detached")
    sh(work, "switch", "-q", "-c", "release/core-v1.0.1")
    assert "on release/core-v1.0.1" in ok("preflight", "--part", "patch", repo=work)


def test_preflight_fetches_and_refuses_when_behind(repo: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    work, origin = repo
    other = clone(origin, tmp_path / "other")
    commit_file(other, "notes.txt", "pushed by someone else\n")
    sh(other, "push", "-q", "origin", "main")
    # Our origin/main is stale: only a fetch can tell.
    first = task("preflight", "--part", "patch", repo=work)
    assert "main is 1 commit(s) behind origin/main: update it (git pull --ff-only)" \
        in first.stderr
    refused("preflight", "--part", "patch", repo=work, also=origin,
            says="behind origin/main")


def test_preflight_refuses_a_diverged_branch(repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, origin = repo
    other = clone(origin, tmp_path / "other")
    commit_file(other, "notes.txt", "theirs\n")
    sh(other, "push", "-q", "origin", "main")
    commit_file(work, "docs/mine.md", "mine\n")
    sh(work, "fetch", "-q", "origin")
    refused("preflight", "--part", "patch", repo=work, also=origin,
            says="main has diverged from origin/main (1 commit(s) only here, 1 only there)")


def test_preflight_allows_a_fast_forward_of_upstream(repo: tuple[Path, Path]) -> None:
    work, _ = repo
    commit_file(work, "docs/mine.md", "mine\n")
    assert "ok: main is 1 commit(s) ahead of origin/main (a fast-forward)" in \
        ok("preflight", "--part", "patch", repo=work)


def test_preflight_refuses_a_tag_that_exists_here(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    sh(work, "tag", "-a", "-m", "x", "core-v1.0.0")
    refused("preflight", repo=work, also=origin,
            says="tag core-v1.0.0 already exists (on ")


def test_preflight_refuses_a_tag_that_exists_only_on_origin(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    sh(work, "tag", "-a", "-m", "x", "core-v1.0.1")
    sh(work, "push", "-q", "origin", "core-v1.0.1")
    sh(work, "tag", "-d", "core-v1.0.1")
    refused("preflight", "--to", "1.0.1", repo=work, also=origin,
            says="tag core-v1.0.1 already exists on origin")


def test_preflight_refuses_a_version_not_newer_than_the_last_tag(
        repo: tuple[Path, Path]) -> None:
    work, origin = repo
    sh(work, "tag", "-a", "-m", "x", "core-v1.2.0")
    refused("preflight", "--part", "patch", repo=work, also=origin,
            says="core 1.0.1 is not newer than its last tag core-v1.2.0")


def test_preflight_with_several_trains_needs_a_train_for_version_checks(
        tmp_path: Path) -> None:
    release = RELEASE + '[tool.release.trains.addon]\nkind = "artifact"\n' \
        'version = { path = "addon.txt", search = "addon {version}" }\n'
    work, _ = make_repo(tmp_path, release=release, extra={"addon.txt": "addon 2.0.0\n"})
    out = ok("preflight", repo=work)
    assert "pass --train to check a version" in out
    refused("preflight", "--part", "patch", repo=work, says="choose a train with --train")


def test_preflight_function_limits_the_clean_check_to_given_paths(
        repo: tuple[Path, Path]) -> None:
    work, _ = repo
    (work / "notes.txt").write_text("unrelated\n")
    config = load(work)
    lines = preflight(config, config.train("core"), "1.1.0", only=["docs/install.md"])
    assert lines[0] == "the files to commit have no local changes"
    with pytest.raises(GitError, match="notes.txt"):
        check_clean(work)
    assert check_upstream(work, "nope").startswith("nope has no upstream")


# --- the release commit ------------------------------------------------------------------------

def test_bump_commit_takes_exactly_the_planned_files(repo: tuple[Path, Path]) -> None:
    work, _ = repo
    (work / "notes.txt").write_text("unrelated edit\n")
    (work / "staged.txt").write_text("staged, unrelated\n")
    sh(work, "add", "staged.txt")
    (work / "scratch.txt").write_text("untracked\n")
    out = ok("bump", "--part", "minor", "--commit", repo=work)
    assert "committed " in out and "chore(release): core 1.1.0" in out
    assert sh(work, "log", "-1", "--format=%s") == "chore(release): core 1.1.0"
    assert sorted(sh(work, "show", "--name-only", "--format=", "HEAD").splitlines()) == [
        "core/pyproject.toml", "core/src/core/__init__.py", "docs/install.md"]
    assert sorted(git.status(work)) == [" M notes.txt", "?? scratch.txt", "A  staged.txt"]
    assert (work / "notes.txt").read_text() == "unrelated edit\n"
    assert version_in(work, "HEAD") == "1.1.0"


def test_bump_commit_uses_the_configured_message(tmp_path: Path) -> None:
    release = RELEASE.replace("[tool.release]\n",
                              '[tool.release]\ncommit-message = "release {train} v{version}"\n')
    work, _ = make_repo(tmp_path, release=release)
    ok("bump", "--part", "patch", "--commit", repo=work)
    assert sh(work, "log", "-1", "--format=%s") == "release core v1.0.1"


def test_bump_commit_refuses_local_changes_in_a_planned_file(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    text = (work / "docs/install.md").read_text()
    (work / "docs/install.md").write_text(text + "\nA local, unrelated paragraph.\n")
    refused("bump", "--part", "patch", "--commit", repo=work, also=origin,
            says="docs/install.md (modified): the release commit would take these local "
                 "changes too")


def test_bump_commit_runs_preflight(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    sh(work, "switch", "-q", "-c", "topic")
    refused("bump", "--part", "patch", "--commit", repo=work, also=origin,
            says="branch 'topic' is not one a release may start from")


def test_a_failing_commit_rolls_the_edits_back(repo: tuple[Path, Path]) -> None:
    work, _ = repo
    hook = work / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'lint failed' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = {p: (work / p).read_bytes() for p in
              ("core/pyproject.toml", "core/src/core/__init__.py", "docs/install.md")}
    head = sh(work, "rev-parse", "HEAD")
    out = task("bump", "--part", "minor", "--commit", repo=work)
    assert out.returncode != 0
    assert out.stderr.strip().startswith("error: git commit failed (lint failed)")
    assert "rolled back" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert {p: (work / p).read_bytes() for p in before} == before
    assert sh(work, "rev-parse", "HEAD") == head
    assert sh(work, "status", "--porcelain") == ""


# --- tag ---------------------------------------------------------------------------------------

def test_tag_after_a_release_commit_then_no_op_then_never_moves(
        repo: tuple[Path, Path]) -> None:
    work, origin = repo
    ok("bump", "--part", "minor", "--commit", repo=work)
    head = sh(work, "rev-parse", "HEAD")
    out = ok("tag", repo=work)
    assert f"tagged core-v1.1.0 (annotated) on {head[:12]}" in out
    assert sh(work, "cat-file", "-t", "core-v1.1.0") == "tag"
    assert sh(work, "rev-parse", "core-v1.1.0^{commit}") == head
    assert sh(work, "tag", "-l", "--format=%(contents:subject)", "core-v1.1.0") == "core 1.1.0"
    before = snapshot(work)
    assert "already on HEAD" in ok("tag", repo=work)  # same tag, same commit: nothing to do
    assert snapshot(work) == before
    commit_file(work, "notes.txt", "a later commit, same version\n")
    refused("tag", repo=work, also=origin,
            says=f"tag core-v1.1.0 already exists on {head[:12]}, not on HEAD")
    assert sh(work, "rev-parse", "core-v1.1.0^{commit}") == head


def test_tag_refuses_when_head_files_disagree(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    commit_file(work, "core/src/core/__init__.py", '__version__ = "1.0.1"\n')
    refused("tag", repo=work, also=origin, says="HEAD's files do not agree")


def test_tag_runs_preflight(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    (work / "notes.txt").write_text("dirty\n")
    refused("tag", repo=work, also=origin, says="working tree is not clean")


def test_tag_reads_head_not_the_work_tree(repo: tuple[Path, Path]) -> None:
    """An ignored file that carries a version does not fool the tag: HEAD's files decide."""
    work, _ = repo
    (work / ".gitignore").write_text("*.log\nVERSION\n")
    sh(work, "commit", "-q", "-am", "ignore VERSION")
    (work / "core" / "VERSION").write_text("9.9.9\n")
    assert "tagged core-v1.0.0" in ok("tag", repo=work)


# --- push --------------------------------------------------------------------------------------

def test_push_sends_branch_and_tag_together(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    ok("bump", "--part", "patch", "--commit", repo=work)
    ok("tag", repo=work)
    out = ok("push", repo=work)
    assert "pushed main and core-v1.0.1 to origin together" in out
    head = sh(work, "rev-parse", "HEAD")
    assert sh(origin, "rev-parse", "main") == head
    assert sh(origin, "rev-parse", "core-v1.0.1^{commit}") == head


def test_push_rejected_by_the_remote_changes_nothing(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    ok("bump", "--part", "patch", "--commit", repo=work)
    ok("tag", repo=work)
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'no releases on Fridays' >&2\nexit 1\n")
    hook.chmod(0o755)
    err = refused("push", repo=work, also=origin,
                  says="push to origin rejected: [remote rejected] (pre-receive hook declined)")
    assert "no releases on Fridays" in err and "nothing was pushed" in err
    assert sh(origin, "tag", "--list") == ""


def test_push_refuses_a_tag_not_on_the_branch(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    sh(work, "switch", "-q", "-c", "release/core-v2.0.0")
    commit_file(work, "notes.txt", "side\n")
    sh(work, "tag", "-a", "-m", "x", "core-v2.0.0")
    sh(work, "switch", "-q", "main")
    refused("push", "--tag", "core-v2.0.0", repo=work, also=origin,
            says="tag core-v2.0.0")
    assert "nothing to push" in ok("push", repo=work)  # main carries no release of its own
    assert sh(origin, "tag", "--list") == ""


# --- check --tag (CI on a tag push) ------------------------------------------------------------

def test_check_tag_agrees_and_disagrees(repo: tuple[Path, Path]) -> None:
    work, _ = repo
    assert "ok: tag core-v1.0.0 names core 1.0.0" in ok("check", "--tag", "core-v1.0.0",
                                                        repo=work)
    refused("check", "--tag", "core-v1.0.1", repo=work,
            says="tag core-v1.0.1 names core 1.0.1, but the files carry 1.0.0")
    refused("check", "--tag", "v1.0.0", repo=work, says="matches no train's tag format "
                                                        "(core-v{version})")
    sh(work, "tag", "-a", "-m", "x", "core-v1.0.0")
    commit_file(work, "notes.txt", "after the tag\n")
    refused("check", "--tag", "core-v1.0.0", repo=work, says="check out the tag first")
    sh(work, "switch", "-q", "--detach", "core-v1.0.0")
    ok("check", "--tag", "core-v1.0.0", repo=work)


def test_check_tag_includes_uv_lock(tmp_path: Path) -> None:
    lock = ('version = 1\nrequires-python = ">=3.11"\n\n[[package]]\nname = "core"\n'
            'version = "0.9.0"\nsource = { editable = "core" }\n')
    work, _ = make_repo(tmp_path, extra={"uv.lock": lock})
    refused("check", "--tag", "core-v1.0.0", repo=work,
            says="uv.lock:6: uv.lock version of core is 0.9.0")
    (work / "uv.lock").write_text(lock.replace("0.9.0", "1.0.0"))
    assert "every file and uv.lock agrees" in ok("check", "--tag", "core-v1.0.0", repo=work)


# --- tags by ancestry; push sends exactly the release tags it carries -------------------------

TWO_TRAINS = RELEASE + """
[tool.release.trains.tools]
packages = ["tools"]
"""


def test_an_old_higher_tag_on_another_line_of_history_is_ignored(
        repo: tuple[Path, Path]) -> None:
    work, _ = repo
    sh(work, "tag", "-a", "-m", "core 1.0.0", "core-v1.0.0")
    sh(work, "switch", "-q", "-c", "old-line")
    commit_file(work, "notes.txt", "an old experiment\n")
    sh(work, "tag", "-a", "-m", "x", "core-v9.0.0b0")
    sh(work, "switch", "-q", "main")
    sh(work, "merge", "-q", "--no-ff", "-m", "merge the old line", "old-line")
    last = git.last_tag(work, "{train}-v{version}", "core")
    assert last is not None and last[1] == "core-v1.0.0"
    assert git.last_tag(work, "{train}-v{version}", "core", "old-line") is not None
    ok("preflight", "--part", "patch", repo=work)  # 1.0.1 > 1.0.0; 9.0.0b0 does not count
    ok("bump", "--part", "patch", "--commit", repo=work)
    assert "tagged core-v1.0.1" in ok("tag", repo=work)


def test_push_sends_every_release_tag_the_branch_carries(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path, release=TWO_TRAINS, extra={
        "tools/pyproject.toml": '[project]\nname = "tools"\nversion = "2.0.0"\n'})
    ok("bump", "--train", "core", "--part", "patch", "--commit", repo=work)
    ok("tag", "--train", "core", repo=work)
    ok("bump", "--train", "tools", "--part", "minor", "--commit", repo=work)
    ok("tag", "--train", "tools", repo=work)
    sh(work, "tag", "-a", "-m", "not a release", "experiment")
    out = ok("push", repo=work)
    assert "pushed main and core-v1.0.1, tools-v2.1.0 to origin together" in out
    assert sorted(sh(origin, "tag", "--list").split()) == ["core-v1.0.1", "tools-v2.1.0"]
    assert sh(origin, "rev-parse", "main") == sh(work, "rev-parse", "HEAD")
    assert "nothing to push" in ok("push", repo=work)


def test_push_refuses_a_release_commit_without_its_tag(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    sh(work, "tag", "-a", "-m", "core 1.0.0", "core-v1.0.0")
    ok("bump", "--part", "patch", "--commit", repo=work)
    head = sh(work, "rev-parse", "HEAD")
    refused("push", repo=work, also=origin,
            says=f"{head[:12]} (chore(release): core 1.0.1) is a release commit without its "
                 "tag core-v1.0.1: tag it first")
    ok("tag", repo=work)
    assert "pushed main and core-v1.0.1 to origin together" in ok("push", repo=work)
    assert sh(origin, "tag", "--list") == "core-v1.0.1"  # not the older core-v1.0.0


def test_push_with_nothing_new_says_so(repo: tuple[Path, Path]) -> None:
    work, origin = repo
    before = snapshot(origin)
    assert "nothing to push: origin has main and every release tag on it" in ok("push", repo=work)
    assert snapshot(origin) == before
