"""Issue 14's acceptance: a release killed at random moments always resumes, each file
reaching each index exactly once; and every path a full rehearsal writes lies inside the
repository, the workspace or the tool's cache (and temporary) directories."""

from __future__ import annotations

import collections
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from release.build.environments import default_cache_dir
from release.pipeline.localindex import LocalDevpi
from tests.repos import BIN, EXAMPLE, ROOT, env
from tests.test_faults import FAST, _scratch, rehearse_argv
from tests.test_secrets import canary_env

KILLS = int(os.environ.get("RELEASE_KILLS", "20"))
ADDED = re.compile(r"added <Rel\.ReleaseFile: 'releasefile'> link (?P<index>[^/\s]+/[^/\s]+)/"
                   r"\+f/\S+/(?P<file>[^/\s]+)$")


def _release(repo: Path, values: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BIN / "release-train"), "--repo", str(repo), "release",
                             "--part", "patch", *FAST], cwd=ROOT,
                            env=env(**values), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _uploads(devpi: LocalDevpi, indexes: set[str]) -> collections.Counter[tuple[str, str]]:
    """(index, file) -> how many times devpi stored it, from the server's own log."""
    counted: collections.Counter[tuple[str, str]] = collections.Counter()
    for line in devpi.log_path.read_text(errors="replace").splitlines():
        found = ADDED.search(line)
        if found and found["index"] in indexes:
            counted[(found["index"], found["file"])] += 1
    return counted


@pytest.mark.slow
def test_a_release_killed_at_random_moments_always_resumes(
        request: pytest.FixtureRequest, devpi: LocalDevpi) -> None:
    seed = int(os.environ.get("RELEASE_KILL_SEED") or random.SystemRandom().randrange(10**6))
    print(f"kill test seed: {seed} (RELEASE_KILL_SEED={seed} to repeat)")
    rng = random.Random(seed)
    repo, values = _scratch(request, EXAMPLE)
    indexes = {"/".join(values[f"{p}_UPLOAD_URL"].rstrip("/").split("/")[-2:])
               for p in ("TESTPYPI", "PYPI")}
    started = time.monotonic()
    first = _release(repo, values)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out[-3000:] + err[-3000:]
    duration = time.monotonic() - started
    outcomes = []
    for kill in range(KILLS):
        delay = rng.uniform(0.0, duration)
        victim = _release(repo, values)
        try:
            victim.wait(timeout=delay)
            outcomes.append(f"#{kill} at {delay:.2f} s: finished first")
        except subprocess.TimeoutExpired:
            os.killpg(victim.pid, signal.SIGKILL)  # the release and every child it started
            victim.wait()
            outcomes.append(f"#{kill} at {delay:.2f} s: killed")
        victim.communicate()
        rerun = _release(repo, values)
        out, err = rerun.communicate(timeout=600)
        errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
        assert "Traceback" not in err, f"seed {seed}, {outcomes[-1]}: {err[-3000:]}"
        assert rerun.returncode == 0, f"seed {seed}, {outcomes[-1]}: {errors or err[-3000:]}"
    print("\n".join(outcomes))
    counted = _uploads(devpi, indexes)
    assert counted, "no upload seen in the devpi log"
    twice = {key: n for key, n in counted.items() if n != 1}
    assert twice == {}, f"seed {seed}: uploaded more than once: {twice}"
    # Every release made went to both indexes whole: 28 files (core and extensions) each.
    per_index = collections.Counter(index for index, _ in counted)
    assert per_index[min(indexes)] == per_index[max(indexes)]
    assert per_index[min(indexes)] % 28 == 0, per_index


def _written(log: Path) -> list[tuple[str, str, Path]]:
    rows = []
    for line in log.read_text(errors="replace").splitlines():
        pid, event, path = line.split("\t", 2)
        rows.append((pid, event, Path(os.path.realpath(path))))
    return rows


@pytest.mark.slow
def test_every_path_a_full_rehearsal_writes_is_inside_the_workspace_or_the_cache(
        tmp_path: Path, built_mini: Path) -> None:
    from tests.test_faults import mini_copy

    source = mini_copy(built_mini, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in source.rglob("*") if ".git" not in p.parts}
    ws, temp, log = tmp_path / "ws", tmp_path / "tmp", tmp_path / "writes.log"
    temp.mkdir()
    hooks = ROOT / "tests" / "audit"
    values = {**canary_env(), "PYTHONPATH": str(hooks), "RT_WRITE_LOG": str(log),
              "TMPDIR": str(temp), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(rehearse_argv(source, ws), cwd=ROOT, env=env(**values),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    rows = _written(log)
    events = collections.Counter(event for _, event, _ in rows)
    assert events["open"] and events["os.replace"] + events["os.rename"], events
    assert len({pid for pid, _, _ in rows}) >= 3  # release-train, devpi-server, twine, ...
    # the workspace (the scratch repository is inside it), the cache, and TMPDIR: the
    # temporary directories release-train and its children make (worktrees, build scratch)
    allowed = [Path(os.path.realpath(p)) for p in (ws, temp, default_cache_dir())]
    outside = sorted({f"{event} {path}" for _, event, path in rows
                      if not any(path == root or root in path.parents for root in allowed)
                      and not str(path).startswith("/dev/")})
    assert outside == [], "\n".join(outside[:40])
    # The rehearsed repository itself is only read.
    assert {p: p.stat().st_mtime_ns for p in source.rglob("*") if ".git" not in p.parts} \
        == before


@pytest.fixture(scope="session")
def built_mini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_faults import build_mini

    return build_mini(tmp_path_factory)
