"""Faults of a whole release or rehearsal: killed while its indexes are made or during the
build, a scratch copy that fails, release records damaged after the upload."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from release.pipeline.localindex import LocalDevpi
from release.publish.index import IndexClient
from tests.faults.lab import Seen, one_line, run_release, scenario, scratch_release
from tests.helpers.canary import canary_env, leaks
from tests.helpers.commands import rehearse_argv
from tests.helpers.dists import mini_copy
from tests.helpers.repos import ROOT, env, git, init_repo


def _proc_state(pid: int) -> str | None:
    """A process's state letter (None: gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _devpi_serving(data: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(a.endswith(b"devpi-server") for a in argv[:2]) and \
                    str(data).encode() in argv and _proc_state(int(entry.name)) != "Z":
                found.append(int(entry.name))
    return found


@scenario("killed-rehearsal")
def _killed_rehearsal(request: pytest.FixtureRequest) -> Seen:
    import secrets
    import time

    tmp: Path = request.getfixturevalue("tmp_path")
    server: LocalDevpi = request.getfixturevalue("server")
    built: Path = request.getfixturevalue("built_mini")
    source = mini_copy(built, tmp)
    ws = tmp / "ws"
    killed = subprocess.Popen(rehearse_argv(source, ws), cwd=ROOT, env=env(**canary_env()),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not _devpi_serving(ws / "devpi" / "data") and time.monotonic() < deadline:
        time.sleep(0.05)  # 2 s from the start, and not before its server runs
    time.sleep(max(0.0, 2.0 - (30 - (deadline - time.monotonic()))))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    orphans = _devpi_serving(ws / "devpi" / "data")
    assert orphans, "the killed rehearsal left no devpi-server behind"
    again = subprocess.run(rehearse_argv(source, ws), cwd=ROOT,
                           env=env(RELEASE_DEBUG="1", **canary_env()),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert all(_proc_state(pid) in (None, "Z") for pid in orphans)
    assert _devpi_serving(ws / "devpi" / "data") == []
    # The canary is in no file of the workspace (test_fault checks), and the indexes' own
    # passwords are in none but the state file (0600) and devpi's data, even after the kill.
    state = ws / "state.json"
    assert state.stat().st_mode & 0o077 == 0
    for index in json.loads(state.read_text())["indexes"].values():
        assert leaks([again.stdout, again.stderr], [ws / "repo", ws / "origin.git",
                                                    ws / "devpi" / "devpi-server.log"],
                     secret=index["password"]) == []
    # Creating a user and its index twice is no error (a kill between the two, or after).
    password = secrets.token_hex(16)
    name = f"twice-{secrets.token_hex(4)}"
    first = server.ensure_index(name, f"{name}-user", password)
    second = server.ensure_index(name, f"{name}-user", password)
    # The same index and user; the login token is issued anew (it carries its time).
    assert (second.name, second.username, second.url) == (first.name, first.username, first.url)
    assert second.token and first.token
    line = next(ln for ln in again.stdout.splitlines() if ln.startswith("rehearsal passed"))
    return Seen(0, line, again.stdout + again.stderr)


@scenario("killed-build")
def _killed_build(request: pytest.FixtureRequest) -> Seen:
    built: Path = request.getfixturevalue("built_mini")
    repo, values = scratch_release(request, built)
    killed = run_release(repo, "--part", "rc", RELEASE_KILL_AFTER="build:core", **values)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    record = repo / ".release" / "core-0.4.3rc1.json"
    data = json.loads(record.read_text())
    assert data["steps"]["build"]["status"] == "running" and data["artifacts"]
    # The rebuild makes other bytes (setuptools sdists are not reproducible): stand in for
    # that by giving the killed build's record other hashes than the rebuild will make.
    for artifact in data["artifacts"]:
        artifact["sha256"] = "0" * 64
    record.write_text(json.dumps(data))
    again = run_release(repo, "--part", "rc", **values)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "release a new version" not in again.stdout + again.stderr
    done = json.loads(record.read_text())
    assert all(a["sha256"] != "0" * 64 for a in done["artifacts"])
    uploaded = done["steps"]["testpypi-upload"]["outputs"]["uploaded"]
    assert sorted(uploaded) == sorted(a["filename"] for a in done["artifacts"])
    assert len(uploaded) == 4
    line = next(ln for ln in again.stdout.splitlines() if "earlier build" in ln)
    return Seen(0, line, again.stdout + again.stderr)


@scenario("copy-fails")
def _copy_fails(request: pytest.FixtureRequest) -> Seen:
    tmp: Path = request.getfixturevalue("tmp_path")
    built: Path = request.getfixturevalue("built_mini")
    outer = tmp / "outer"
    outer.mkdir()
    (outer / "README").write_text("a repository with the project below it\n")
    shutil.copytree(built, outer / "project", ignore=shutil.ignore_patterns(".git"))
    init_repo(outer)
    project = outer / "project"
    (project / "docs").mkdir()
    (project / "docs" / "latest").symlink_to("no-such-file")  # dangling: copied as it is
    os.mkfifo(project / "pipe")
    ws = tmp / "ws"
    out = subprocess.run(rehearse_argv(project, ws), cwd=ROOT, env=env(**canary_env()),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    (project / "pipe").unlink()
    again = subprocess.run(rehearse_argv(project, ws), cwd=ROOT, env=env(**canary_env()),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "not a git repository" not in again.stdout + again.stderr
    assert (ws / "repo" / "docs" / "latest").is_symlink()
    return one_line(out)


@scenario("damaged-records")
def _damaged_records(request: pytest.FixtureRequest) -> Seen:
    built: Path = request.getfixturevalue("built_mini")
    repo, values = scratch_release(request, built)
    killed = run_release(repo, "--part", "rc", RELEASE_KILL_AFTER="testpypi-upload",
                           **values)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    records = sorted((repo / ".release").glob("*.json"))
    assert [p.name for p in records] == ["core-0.4.3rc1.json"]
    kept = {p: p.read_bytes() for p in records}
    for path, data in kept.items():
        path.write_bytes(data[:len(data) // 2])
    tags = git(repo, "tag")
    listed = IndexClient(values["TESTPYPI_SIMPLE_URL"]).files("skyline-core")
    again = run_release(repo, "--part", "rc", **values)
    assert again.returncode == 1 and "KeyError" not in again.stderr
    assert git(repo, "tag") == tags
    assert IndexClient(values["TESTPYPI_SIMPLE_URL"]).files("skyline-core") == listed
    for path, data in kept.items():
        path.write_bytes(data)
    done = run_release(repo, "--part", "rc", **values)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "testpypi-upload: done before" in done.stdout
    assert git(repo, "tag") == tags
    return one_line(again)
