"""`--dry-run` wherever a command writes: through the command users type, every check runs,
the output says what would happen, and the repository and its origin do not change by a
byte (tests.repos.snapshot: every file, git's internals included). Then the same command
for real does what the dry run said."""

from __future__ import annotations

from pathlib import Path

from release import git
from tests.repos import snapshot
from tests.test_branching import BETA
from tests.test_git import commit_file, make_repo, ok, sh, task, version_in


def dry(*args: str, repo: Path, also: Path | None = None) -> str:
    """The task with --dry-run succeeds, says it is a dry run, and writes nothing."""
    before = snapshot(repo), snapshot(also) if also else {}
    out = task(*args, "--dry-run", repo=repo)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (snapshot(repo), snapshot(also) if also else {}) == before
    assert "dry run" in out.stdout or "nothing to do" in out.stdout, out.stdout
    return out.stdout


def test_tag_and_push_dry_runs(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path)
    ok("bump", "--part", "minor", "--commit", repo=work)
    head = sh(work, "rev-parse", "HEAD")
    out = dry("tag", repo=work, also=origin)
    assert "ok: working tree clean" in out
    assert "(as last fetched: a dry run does not fetch)" in out
    assert f'would tag core-v1.1.0 (annotated, message "core 1.1.0") on {head[:12]} ' \
           "(chore(release): core 1.1.0)" in out
    # push refuses a release commit without its tag, in a dry run too
    refusal = task("push", "--dry-run", repo=work)
    assert refusal.returncode == 1 and "without its tag core-v1.1.0" in refusal.stderr
    ok("tag", repo=work)
    assert "tag core-v1.1.0 is already on HEAD" in dry("tag", repo=work, also=origin)
    out = dry("push", repo=work, also=origin)
    assert f"would push to origin ({origin}), atomically" in out
    assert "  refs/heads/main:refs/heads/main\n  refs/tags/core-v1.1.0:refs/tags/core-v1.1.0\n" in out
    ok("push", repo=work)
    assert sh(origin, "rev-parse", "core-v1.1.0^{commit}") == head


def test_branch_dry_run(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path)
    main = sh(work, "rev-parse", "main")
    out = dry("branch", "--train", "core", "--part", "minor", repo=work, also=origin)
    assert f"would create release/core-v1.1.0 from main ({main[:12]}) and switch to it" in out
    sh(work, "branch", "release/core-v1.1.0")
    refusal = task("branch", "--part", "minor", "--dry-run", repo=work)
    assert refusal.returncode == 1 and "already exists" in refusal.stderr


def test_beta_model_dry_runs(tmp_path: Path) -> None:
    work, origin = make_repo(tmp_path, "0.12.0.dev3", release=BETA)
    out = dry("freeze", repo=work, also=origin)
    assert "would create rc at main" in out
    assert "would commit on main: chore(release): core 0.13.0.dev1" in out
    assert "core/pyproject.toml:3\n    - version = \"0.12.0.dev3\"\n" \
           "    + version = \"0.13.0.dev1\"" in out
    ok("freeze", repo=work)
    assert version_in(work, "main") == "0.13.0.dev1"

    out = dry("cut-beta", repo=work, also=origin)
    assert "would create 0.12 from rc" in out and "'chore(release): core 0.12.0b1'" in out
    assert "tag v0.12.0b1 (annotated)" in out and "then move 0.12 on to 0.12.0b2" in out
    assert len(sh(work, "worktree", "list").splitlines()) == 1
    ok("cut-beta", repo=work)
    assert version_in(work, "0.12") == "0.12.0b2"

    sh(work, "switch", "-q", "0.12")
    fix = commit_file(work, "notes.txt", "a fix\n", "fix: something")
    sh(work, "switch", "-q", "main")
    out = dry("cut-beta", repo=work, also=origin)
    assert f"0.12: would tag v0.12.0b2 (annotated) on {fix[:12]}, then move on to 0.12.0b3" in out
    ok("cut-beta", repo=work)

    sh(work, "switch", "-q", "0.12")
    out = dry("final", repo=work, also=origin)
    assert "0.12: would commit 'chore(release): core 0.12.0' and tag v0.12.0" in out
    assert "then move 0.12 on to 0.12.1b1" in out
    ok("final", repo=work)
    assert version_in(work, "v0.12.0") == "0.12.0"
    assert git.status(work) == []
