"""`--dry-run` wherever a command writes: through the command users type, every check runs,
the output says what would happen, and the repository and its origin do not change by a
byte (tests.helpers.repos.snapshot: every file, git's internals included). Then the same command
for real does what the dry run said."""

from __future__ import annotations

from pathlib import Path

import pytest

from release import repo as git
from release.record import load as load_record
from tests.helpers.commands import invoke
from tests.helpers.onetrain import BETA, commit_file, make_repo, ok, sh, task, version_in
from tests.helpers.repos import copy_example, snapshot
from tests.helpers.repos import git as run_git


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
    assert "  refs/heads/main:refs/heads/main\n" \
           "  refs/tags/core-v1.1.0:refs/tags/core-v1.1.0\n" in out
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


# --- the example: downstream pins, notes, GitHub, gates, checkpoints, the whole release --------

@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The example under git with a bare origin it tracks, and a release of core 0.5.0 that
    its record shows verified on PyPI (the add-on may pin it), one checkpoint configured."""
    repo = copy_example(tmp_path / "mono")
    text = (repo / "pyproject.toml").read_text()
    (repo / "pyproject.toml").write_text(text.replace(
        '[tool.release.trains.core]\n', f'[tool.release.trains.core]\nconfirm = ["{CHECK}"]\n'))
    run_git(repo, "commit", "-qam", "a checkpoint")
    run_git(tmp_path, "init", "-q", "--bare", "origin.git")
    run_git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    run_git(repo, "push", "-q", "-u", "origin", "main")
    record = load_record(repo, "core", "0.5.0")
    with record.running("preflight", {"version": "0.5.0"}) as out:
        out["checks"] = []
    record.set("verifications", {"pypi": {"ok": True, "index": "pypi"}})
    return repo


CHECK = "changelog reviewed"


def dry_in(repo: Path, *args: str, **extra: str) -> str:
    before = snapshot(repo), snapshot(repo.parent / "origin.git")
    out = invoke(*args, "--repo", str(repo), "--dry-run", **extra)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (snapshot(repo), snapshot(repo.parent / "origin.git")) == before
    assert "dry run" in out.stdout and out.stderr == "", out.stdout + out.stderr
    return out.stdout


def test_pin_downstream_dry_run(example: Path) -> None:
    out = dry_in(example, "pin-downstream", "--train", "addon", "--commit")
    assert "would move addon/Dockerfile:5: core 0.4.2 -> 0.5.0" in out
    assert "    - " in out and "skyline-streaming==0.4.2" in out
    assert "and bump addon: 1.0.3 -> 1.0.4" in out
    assert "would commit: chore(release): addon 1.0.4 (pins core 0.5.0)" in out
    real = invoke("pin-downstream", "--train", "addon", "--commit", "--repo", str(example))
    assert real.returncode == 0, real.stderr
    assert "skyline-streaming==0.5.0" in (example / "addon/Dockerfile").read_text()
    assert run_git(example, "log", "-1", "--format=%s") == \
        "chore(release): addon 1.0.4 (pins core 0.5.0)"


def test_notes_dry_run(example: Path) -> None:
    out = dry_in(example, "notes", "--train", "core")
    assert out.startswith(f"would write {example}/.release/notes/core-0.4.2.md:\n\n# core 0.4.2")
    out = dry_in(example, "notes", "--train", "core", "--commit")
    assert f"would write {example}/release-notes/core-0.4.2.md and commit it alone" in out


def test_github_release_dry_run_shows_the_request_never_the_token(example: Path) -> None:
    settings = {"GITHUB_REPOSITORY": "example/skyline", "GH_TOKEN": "",
                "GITHUB_API_URL": "https://api.github.invalid"}
    out = dry_in(example, "github-release", "--train", "core", GITHUB_TOKEN="", **settings)
    assert "would POST https://api.github.invalid/repos/example/skyline/releases" in out
    assert "GITHUB_TOKEN or GH_TOKEN: not set, needed" in out
    assert '"tag_name": "v0.4.2"' in out and '"prerelease": false' in out
    secret = "ghp_" + "s3cr3t" * 6
    out = dry_in(example, "github-release", "--train", "core", GITHUB_TOKEN=secret, **settings)
    assert "GITHUB_TOKEN/GH_TOKEN, set" in out and "s3cr3t" not in out


def test_gates_and_ack_dry_runs(example: Path) -> None:
    out = dry_in(example, "gates")
    assert "would run, in a clean worktree of" in out and "  check: git diff --check" in out
    out = dry_in(example, "ack", CHECK)
    assert f'would acknowledge "{CHECK}" for core 0.5.0 as Release Tester' in out
    assert "in .release/core-0.5.0.json" in out


def test_release_dry_run_is_the_plan(example: Path) -> None:
    out = dry_in(example, "release", "--train", "core", "--part", "minor",
                 TESTPYPI_UPLOAD_URL="http://127.0.0.1:9/testpypi/",
                 TESTPYPI_SIMPLE_URL="http://127.0.0.1:9/testpypi/+simple/")
    assert out.startswith("resuming core 0.5.0 from the release records\n"
                          "release plan (dry run: nothing written, nothing sent)\n"
                          "  core 0.5.0 (tag v0.5.0; resuming its release record)\n")
    assert "testpypi http://127.0.0.1:9/testpypi/" in out
    assert "    preflight: done before, skipped\n" in out
    assert f'    confirm: to do ("{CHECK}")' in out
    assert "    push: to do (main and the release tags to origin, atomically)" in out
    assert "    downstream: to do (pin addon)" in out
    assert "  bump core: 0.4.2 -> 0.5.0  (tag v0.5.0)" in out
    assert "  commit: chore(release): core 0.5.0" in out


def test_init_ci_dry_run_for_one_train(example: Path) -> None:
    out = dry_in(example, "init-ci", "--train", "extensions")
    assert "extensions-v*" in out and "      - v*" not in out
