"""Faults while versions are planned and written: a kill or a full disk in the middle of a
bump, a train name that escapes the repository, a huge occurrence file, odd versions in text,
and inputs that once ended in a traceback."""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from release import sessions
from release.config import load
from release.versions.plan import plan_change
from tests.faults.lab import Seen, one_line, scenario
from tests.helpers.canary import canary_env, leaks
from tests.helpers.commands import invoke
from tests.helpers.repos import copy_example, env, git, snapshot

KILL_BUMP = """
import os, signal, sys
kill_at = int(sys.argv[1])
replaced = []
real = os.replace
def replace(src, dst):
    if len(replaced) == kill_at:  # the temporary file is written, not yet renamed
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
    replaced.append(dst)
os.replace = replace
sys.argv = ["release-train", *sys.argv[2:]]
from release.cli import main
main()
"""


@scenario("killed-bump")
def _killed_bump(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    config = load(repo)
    plan = plan_change(config, config.train("core"), part="minor")
    assert len(plan.edits) >= 6
    bump = ["--repo", str(repo), "bump", "--train", "core", "--part", "minor"]
    killed = subprocess.run([sys.executable, "-c", KILL_BUMP, "3", *bump], env=env(**canary_env()),
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    states = {}
    for edit in plan.edits:
        now = (repo / edit.path).read_text()
        assert now in (edit.old, edit.new), f"{edit.path} is half-written"
        states[edit.path] = "new" if now == edit.new else "old"
    assert list(states.values()).count("new") == 3
    strays = [p for p in repo.rglob(".*.tmp")]
    assert len(strays) == 1
    check = invoke("check", "--repo", str(repo), **canary_env())
    named = {str(e.path) for e in plan.edits if states[e.path] == "new"}
    for path in named:
        assert f"{path}:" in check.stderr
    for path in {str(e.path) for e in plan.edits} - named:
        assert f"{path}:" not in check.stderr
    first, line = check.stderr.strip().splitlines()[:2]
    assert re.fullmatch(r"error: \d+ disagreement\(s\):", first)
    # How to go on: restore what invoke check names, remove the stray file, bump again.
    git(repo, "checkout", "--", *named)
    for stray in strays:
        stray.unlink()
    again = invoke(*bump[2:], "--repo", str(repo), **canary_env())
    assert again.returncode == 0, again.stderr
    assert invoke("check", "--repo", str(repo)).returncode == 0
    assert leaks([killed.stdout, killed.stderr, check.stdout, check.stderr, again.stdout],
                 [repo]) == []
    return Seen(check.returncode, line, check.stderr)


@scenario("train-name-escapes")
def _train_name_escapes(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    capsys: pytest.CaptureFixture[str] = request.getfixturevalue("capsys")
    repo = copy_example(tmp / "a" / "b" / "repo")
    victim = tmp / "a" / "x" / "victimdir-0.4.2"
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("precious")
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("[tool.release.trains.extensions]",
                                                       '[tool.release.trains."../../x/victimdir"]'))
    git(repo, "commit", "-qam", "a train with a path for a name")
    out = invoke("check", "--repo", str(repo), **canary_env())
    for argv in (["notes", "--train", "../../x/victimdir"], ["status"]):
        assert invoke(*argv, "--repo", str(repo)).returncode == 2
    assert sessions.build(["--repo", str(repo), "--train", "../../x/victimdir"]) == 2
    assert "is not a plain name" in capsys.readouterr().err
    assert [p.name for p in victim.iterdir()] == ["keep.txt"]
    return one_line(out)


def _tree(repo: Path) -> dict[str, bytes]:
    """The working tree's files (git's own files left out: its index keeps stat times)."""
    return {k: v for k, v in snapshot(repo).items() if not k.startswith(".git/")}


@scenario("disk-full-bump")
def _disk_full_bump(request: pytest.FixtureRequest) -> Seen:
    from release.commands.versions import run_bump
    from release.errors import ReleaseError
    from release.versions import edits

    tmp: Path = request.getfixturevalue("tmp_path")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    repo = copy_example(tmp / "repo")
    before = _tree(repo)
    real = edits.write_atomic
    written: list[Path] = []

    def full_after_three(path: Path, text: str) -> None:
        if len(written) >= 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, text)
        written.append(path)

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(edits, "write_atomic", full_after_three)
    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(ReleaseError) as failed:
        run_bump(repo, "core", "patch", None, dry_run=False, commit=True)
    monkeypatch.undo()
    line = f"error: {failed.value}"
    left = [p for p in _tree(repo) if _tree(repo)[p] != before[p]]
    assert len(left) == 3 and all(name in line for name in left), (left, line)
    git(repo, "checkout", "--", *left)
    assert _tree(repo) == before
    # With room for the rollback, the line says every file is back, and it is.
    written.clear()
    monkeypatch.setattr(edits, "write_atomic", full_after_three)
    with pytest.raises(ReleaseError, match=r"every file was rolled back \(checked byte"):
        run_bump(repo, "core", "patch", None, dry_run=False, commit=True)
    monkeypatch.undo()
    assert _tree(repo) == before
    assert git(repo, "log", "--oneline").count("\n") == 0  # nothing committed
    return Seen(1, line, line)


@scenario("large-file")
def _large_file(request: pytest.FixtureRequest) -> Seen:
    import time

    from release.versions.edits import line_changes
    from release.versions.plan import describe

    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    big = repo / "docs" / "big.txt"
    big.write_text("pip install skyline-streaming==0.4.2\n" * 25_000)  # 920 KB
    assert 900_000 < big.stat().st_size < 950_000
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '  { path = "compose.yaml"', '  { path = "docs/big.txt", search = '
        '"pip install skyline-streaming=={version}" },\n  { path = "compose.yaml"', 1))
    git(repo, "commit", "-qam", "a big occurrence file")
    config = load(repo)
    started = time.process_time()  # CPU: other work on the machine does not count
    plan = plan_change(config, config.train("core"), part="patch")
    shown = describe(plan, True)
    (edit,) = [e for e in plan.edits if e.path.name == "big.txt"]
    assert len(line_changes(edit)) == 25_000
    assert time.process_time() - started < 1.0
    out = invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch",
                 "--dry-run", **canary_env())
    assert out.returncode == 0 and "docs/big.txt" in shown
    return Seen(0, next(ln for ln in out.stdout.splitlines() if "docs/big.txt:" in ln),
                out.stdout + out.stderr)


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """A directory no file can be created in, for real even as root: chattr +i (root ignores
    mode bits), else mode 555."""
    root = os.geteuid() == 0
    if root:
        if shutil.which("chattr") is None or subprocess.run(
                ["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
            pytest.skip("running as root without chattr +i: no read-only directory here")
    else:
        directory.chmod(0o555)
    try:
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
        else:
            directory.chmod(0o755)


@scenario("no-traceback")
def _no_traceback(request: pytest.FixtureRequest) -> Seen:
    from release.config import Train
    from release.record import load as load_record

    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    pyproject = repo / "pyproject.toml"
    good = pyproject.read_text()
    pyproject.write_text('tool = "x"\n')  # a repo whose configuration is in release.toml
    (repo / "release.toml").write_text(good.replace("[tool.release", "[release"))
    out = invoke("check", "--repo", str(repo), **canary_env())
    (repo / "release.toml").unlink()
    pyproject.write_text(good)
    local = invoke("bump", "--repo", str(repo), "--train", "core", "--to", "0.5.0+local")
    assert local.returncode == 1 and "is a local version" in local.stderr, local.stderr
    assert invoke("check", "--repo", str(repo)).returncode == 0
    core = repo / "packages" / "skyline-core"
    with read_only(core):
        readonly = invoke("bump", "--repo", str(repo), "--train", "core", "--part", "patch")
    assert readonly.returncode == 1 and "Traceback" not in readonly.stderr, readonly.stderr
    [line] = [ln for ln in readonly.stderr.splitlines() if ln.startswith("error: ")]
    assert "rolled back" in line or "permitted" in line or "denied" in line, line
    assert invoke("check", "--repo", str(repo)).returncode == 0
    (repo / ".release").mkdir()
    (repo / ".release" / "core-0.4.2.json").write_text(
        '{"format": 2, "train": "core", "version": "0.4.2", "steps": {"bump": []}}')
    with pytest.raises(Exception, match="damaged release record") as damaged:
        load_record(repo, "core", "0.4.2")
    assert type(damaged.value).__name__ == "ReleaseError"
    status = invoke("status", "--repo", str(repo))
    assert "Traceback" not in status.stderr
    train = Train(name="core", kind="python", tag_format="v{version}", packages=())
    assert train.tag("v0.4.3") == "v0.4.3" and train.tag("0.4.3") == "v0.4.3"
    return one_line(out)


@scenario("versions-in-text")
def _versions_in_text(request: pytest.FixtureRequest) -> Seen:
    from release.commands.status import run_check
    from release.commands.versions import run_bump

    tmp: Path = request.getfixturevalue("tmp_path")
    repo = copy_example(tmp / "repo")
    spots = {path: text for path, text in _tree(repo).items()}
    run_bump(repo, "core", None, "1!0.5.0", dry_run=False)
    line = run_check(repo, None).splitlines()[-1]
    changed = [p for p, text in _tree(repo).items() if text != spots[p]]
    assert {"docs/install.md", "compose.yaml"} <= set(changed)
    assert b"skyline-streaming==1!0.5.0" in (repo / "docs/install.md").read_bytes()
    git(repo, "commit", "-qam", "epoch")
    run_bump(repo, "core", "patch", None, dry_run=False)
    assert "core 1!0.5.1" in run_check(repo, None)
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    run_bump(repo, "core", None, "0.5.0.RC1", dry_run=False)
    assert b"skyline:0.5.0.RC1" in (repo / "compose.yaml").read_bytes()
    assert "core 0.5.0.RC1" in run_check(repo, None)
    git(repo, "commit", "-qam", "upper-case rc")
    for part, now in (("rc", "0.5.0.RC2"), ("release", "0.5.0")):
        run_bump(repo, "core", part, None, dry_run=False)
        assert f"core {now}," in run_check(repo, None)
        git(repo, "commit", "-qam", part)
    return Seen(0, line, line)
