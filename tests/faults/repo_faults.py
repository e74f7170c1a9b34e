"""Faults in the repository and its remote: a rejected push, a tag already on the remote, a
dirty tree, symlinks that lead outside, a second command at once, a submodule never
initialised."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from release import sessions
from release.config import load
from tests.faults.lab import Seen, one_line, outside_files, scenario
from tests.helpers.canary import canary_env
from tests.helpers.commands import invoke
from tests.helpers.dists import mini_copy
from tests.helpers.repos import BIN, ROOT, copy_example, env, git, init_repo, snapshot


def _with_origin(tmp: Path) -> tuple[Path, Path]:
    """A scratch example with a bare origin that has its main."""
    repo = copy_example(tmp / "repo")
    origin = tmp / "origin.git"
    git(tmp, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "-u", "origin", "main")
    return repo, origin


@scenario("push-rejected")
def _push_rejected(request: pytest.FixtureRequest) -> Seen:
    repo, origin = _with_origin(request.getfixturevalue("tmp_path"))
    assert invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch",
                  "--commit").returncode == 0
    assert invoke("tag", "--repo", str(repo), "--train", "core").returncode == 0
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected: pushes need a review' >&2\nexit 1\n")
    hook.chmod(0o755)
    remote_before = git(origin, "for-each-ref")
    local_before = git(repo, "for-each-ref")
    out = invoke("push", "--repo", str(repo), "--train", "core", **canary_env())
    assert "main is protected" in out.stderr
    assert git(origin, "for-each-ref") == remote_before
    assert git(repo, "for-each-ref") == local_before
    hook.unlink()
    again = invoke("push", "--repo", str(repo), "--train", "core")
    assert again.returncode == 0, again.stderr
    assert git(origin, "rev-parse", "v0.4.3^{commit}") == git(repo, "rev-parse", "HEAD")
    return Seen(out.returncode, out.stderr.strip(), out.stdout + out.stderr)


@scenario("tag-on-remote")
def _tag_on_remote(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    repo, origin = _with_origin(tmp)
    other = tmp / "other"
    git(tmp, "clone", "-q", str(origin), str(other))
    git(other, "commit", "-q", "--allow-empty", "-m", "someone else's commit")
    git(other, "tag", "-a", "-m", "not ours", "v0.4.2")
    git(other, "push", "-q", "origin", "v0.4.2")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    out = invoke("tag", "--repo", str(repo), "--train", "core", **canary_env())
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
    assert invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch",
                  "--commit").returncode == 0
    again = invoke("tag", "--repo", str(repo), "--train", "core")
    assert again.returncode == 0 and "tagged v0.4.3" in again.stdout
    return Seen(out.returncode, out.stderr.strip(), out.stdout + out.stderr)


@scenario("dirty-tree")
def _dirty_tree(request: pytest.FixtureRequest) -> Seen:
    repo = copy_example(request.getfixturevalue("tmp_path") / "repo")
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "\nwork in progress\n")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    out = invoke("tag", "--repo", str(repo), "--train", "core", **canary_env())
    assert "README.md (modified)" in out.stderr
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
    git(repo, "stash", "-q")
    again = invoke("tag", "--repo", str(repo), "--train", "core")
    assert again.returncode == 0, again.stderr
    return Seen(out.returncode, out.stderr.strip(), out.stdout + out.stderr)


@scenario("symlink-out")
def _symlink_out(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    capsys: pytest.CaptureFixture[str] = request.getfixturevalue("capsys")
    repo = copy_example(tmp / "repo")
    outside = tmp / "outside"
    (outside / "dist").mkdir(parents=True)
    (outside / "notes").mkdir()
    (outside / "file").write_text("not yours")
    (outside / "release.yml").write_text("not yours either")
    before = outside_files(tmp)
    (repo / ".release").symlink_to(outside)
    out = invoke("notes", "--train", "core", "--repo", str(repo), **canary_env())
    (repo / ".release").unlink()
    # dist/ (nox -s build), release-notes/ (notes --commit), a workflow file (init-ci), and
    # a temporary name planted beside the notes: every one refused, nothing written outside.
    (repo / "dist").symlink_to(outside / "dist")
    (repo / "release-notes").symlink_to(outside / "notes")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "symlinks")
    assert sessions.build(["--repo", str(repo), "--train", "core"]) == 1
    assert "refusing to write" in capsys.readouterr().err
    notes = invoke("notes", "--train", "core", "--commit", "--repo", str(repo))
    assert notes.returncode == 1 and "refusing to write" in notes.stderr, notes.stderr
    git(repo, "rm", "-q", "release-notes", "dist")
    git(repo, "commit", "-qm", "no more symlinked dirs")
    (repo / ".release" / "notes").mkdir(parents=True)
    planted = repo / ".release" / "notes" / ".core-0.4.2.md.tmp"
    planted.symlink_to(outside / "file")
    assert invoke("notes", "--train", "core", "--repo", str(repo)).returncode == 0
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "release.yml").symlink_to(outside / "release.yml")
    ci = invoke("init-ci", "--force", "--repo", str(repo))
    assert ci.returncode == 1 and "refusing to write" in ci.stderr, ci.stderr
    assert outside_files(tmp) == before
    return one_line(out)


HOLD_LOCK = """
import sys, time
from pathlib import Path
from release.lock import held
with held(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@scenario("second-command")
def _second_command(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(repo), "30"], cwd=ROOT,
                              env=env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        before = snapshot(repo)
        out = invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch",
                     RELEASE_LOCK_WAIT="0.5", **canary_env())
        assert f"pid {holder.pid} " in out.stderr
        assert snapshot(repo) == before
    finally:
        holder.kill()
        holder.wait()
    # Two bumps started together: one after the other, both counted, the train agrees.
    argv = [str(BIN / "invoke"), "bump", "--repo", str(repo), "--train", "core", "--part",
            "patch"]
    both = [subprocess.Popen(argv, cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [p.wait(timeout=120) for p in both] == [0, 0]
    assert invoke("check", "--repo", str(repo)).returncode == 0
    core = repo / "packages" / "skyline-core" / "pyproject.toml"
    assert 'version = "0.4.4"' in core.read_text()
    return one_line(out)


SUB_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "skyline-sub"
version = "0.4.2"
description = "a package of the core train that lives in a git submodule"
"""


def _package(where: Path, name: str) -> Path:
    module = where / name.replace("-", "_")
    module.mkdir(parents=True)
    (module / "__init__.py").write_text('"""A package."""\n')
    (where / "pyproject.toml").write_text(SUB_PYPROJECT.replace("skyline-sub", name))
    return where


@scenario("submodule")
def _submodule(request: pytest.FixtureRequest) -> Seen:
    from release.worktrees import clean_worktree

    tmp: Path = request.getfixturevalue("tmp_path")
    capsys: pytest.CaptureFixture[str] = request.getfixturevalue("capsys")
    built: Path = request.getfixturevalue("built_mini")
    sub = init_repo(_package(tmp / "sub", "skyline-sub"))
    repo = mini_copy(built, tmp)
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub),
        "packages/skyline-sub")
    git(repo, "commit", "-qm", "skyline-sub in a submodule")
    shutil.rmtree(sub)  # nothing is fetched: the superproject's own copy is enough
    # The clean worktree holds the submodule, at the commit the superproject records.
    with clean_worktree(repo, "HEAD") as tree:
        assert (tree / "packages/skyline-sub/skyline_sub/__init__.py").is_file()
    config = load(repo)
    assert "skyline-sub" in {p.name for p in config.train("core").packages}
    # A clone where it was never initialised: refused, naming it, before any build.
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, env=env())
    assert sessions.build(["--repo", str(clone), "--out", str(tmp / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and not (tmp / "out").exists()
    seen = Seen(1, next(ln for ln in err.splitlines() if ln.startswith("error: ")), err)
    # A package directory the commit lacks is named, never silently left out.
    _package(repo / "packages" / "skyline-new", "skyline-new")
    assert sessions.build(["--repo", str(repo), "--out", str(tmp / "out")]) == 1
    err = capsys.readouterr().err
    assert "would leave out skyline-new (packages/skyline-new)" in err, err
    return seen
