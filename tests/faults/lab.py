"""The lab the fault scenarios run in: the mini release built once, its indexes behind the
fault proxy, the canary in every credential variable (the `lab` fixture, tests/faults/conftest.py);
what the user saw (Seen); the registry that ties each row of the table to its scenario."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from release import sessions
from release.build.manifest import Manifest, sha256_of
from release.pipeline.localindex import LocalDevpi, LocalIndex
from release.publish.index import IndexClient
from tests.faults.table import BY_ID
from tests.helpers.canary import CANARY, canary_env, canary_indexes
from tests.helpers.commands import FAST, release_train
from tests.helpers.proxy import FaultProxy
from tests.helpers.repos import scratch_clone


@dataclass(frozen=True)
class Seen:
    """What the user saw: the exit code, the line that matters, everything printed."""

    exit: int
    line: str
    output: str


@dataclass
class Lab:
    repo: Path
    dist: Path
    proxy: FaultProxy
    testpypi: LocalIndex
    pypi: LocalIndex
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture
    outputs: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        manifest = Manifest.load(self.dist / "core-0.4.2" / "manifest.json")
        return manifest.files()

    def values(self) -> dict[str, str]:
        """The variables that point the sessions at the stand-ins (TestPyPI behind the proxy)."""
        values = canary_env()
        for prefix, index, via in (("TESTPYPI", self.testpypi, self.proxy.translate),
                                   ("PYPI", self.pypi, str)):
            values.update({f"{prefix}_UPLOAD_URL": via(index.upload_url),
                           f"{prefix}_SIMPLE_URL": via(index.simple_url),
                           f"{prefix}_JSON_URL": via(index.json_api),
                           f"{prefix}_USERNAME": index.username, f"{prefix}_TOKEN": CANARY})
        return values

    def session(self, name: str, *args: str) -> Seen:
        """Run a nox session's code in this process, as nox does; return what was seen."""
        code = getattr(sessions, name)(["--repo", str(self.repo), "--dist", str(self.dist),
                                        *FAST, *args])
        out = self.capsys.readouterr()
        self.outputs += [out.out, out.err, self.caplog.text]  # RELEASE_DEBUG=1: every log line
        assert "Traceback" not in out.out + out.err
        errors = [ln for ln in out.err.splitlines() if ln.startswith("error: ")]
        assert len(errors) == (1 if code else 0), out.err
        return Seen(code, errors[0] if errors else out.out, out.out + out.err)

    def listed(self) -> dict[str, str | None]:
        client = IndexClient(self.testpypi.simple_url)
        return {f.filename: f.sha256 for name in ("skyline-core", "skyline")
                for f in client.files(name)}

    def ours(self) -> dict[str, str]:
        return {p.name: sha256_of(p) for p in self.files}

    def record(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.repo / ".release" / "core-0.4.2.json").read_text())
        return data

    def step(self, name: str) -> dict[str, Any]:
        step: dict[str, Any] = self.record()["steps"][name]
        return step

    def completes(self) -> Seen:
        """The rerun, once the fault is gone: uploaded, verified, every file ours."""
        self.proxy.faults.clear()
        seen = self.session("testpypi")
        assert seen.exit == 0, seen.output[-3000:]
        assert "result: ok" in seen.output
        assert self.listed() == self.ours()
        assert self.step("testpypi-upload")["status"] == "done"
        assert self.step("testpypi-verify")["status"] == "done"
        assert "twine upload" in self.caplog.text or "done before" in seen.output  # logs seen
        return seen


ACTIVE: list[Lab] = []  # the lab of the running scenario, for the leak check


Scenario = Callable[[pytest.FixtureRequest], Seen]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fault_id: str) -> Callable[[Scenario], Scenario]:
    assert fault_id in BY_ID, fault_id

    def register(func: Scenario) -> Scenario:
        SCENARIOS[fault_id] = func
        return func

    return register


UPLOAD = {"method": "POST"}
SIMPLE = r"/\+simple/"


def one_line(out: subprocess.CompletedProcess[str]) -> Seen:
    """The one error line of a command (or its output when it succeeded)."""
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == (1 if out.returncode else 0), out.stderr
    return Seen(out.returncode, errors[0] if errors else out.stdout.strip(),
                out.stdout + out.stderr)


def outside_files(tmp: Path) -> dict[Path, bytes]:
    """Every file under tmp/outside (what must never be written), with its bytes."""
    return {p: p.read_bytes() for p in sorted((tmp / "outside").rglob("*")) if p.is_file()}


def scratch_release(request: pytest.FixtureRequest, source: Path) -> tuple[Path, dict[str, str]]:
    """A scratch clone of source with a bare origin, and two fresh indexes (the canary is
    the token they accept)."""
    tmp: Path = request.getfixturevalue("tmp_path")
    server: LocalDevpi = request.getfixturevalue("server")
    return scratch_clone(tmp, source), canary_indexes(server)


def run_release(repo: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return release_train("--repo", str(repo), "release", *args, *FAST, **extra)
