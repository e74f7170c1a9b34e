"""The release record: what comes next, immutable finished steps, nothing secret written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release.errors import ReleaseError
from release.record import load


def test_next_step_follows_the_last_step_done(tmp_path: Path) -> None:
    record = load(tmp_path, "core", "1.0.0")
    assert record.next_step() == "preflight"
    with record.running("testpypi-upload", {"index": "testpypi"}):
        pass
    # A session that only uploads has no preflight to come back to.
    assert record.next_step() == "testpypi-verify"
    again = load(tmp_path, "core", "1.0.0")
    assert again.done("testpypi-upload") and again.next_step() == "testpypi-verify"


def test_a_finished_step_never_runs_again_with_other_inputs(tmp_path: Path) -> None:
    record = load(tmp_path, "core", "1.0.0")
    with record.running("build", {"tag": "v1.0.0"}) as out:
        out["files"] = 2
    record.check_inputs("build", {"tag": "v1.0.0"})
    with pytest.raises(ReleaseError, match="already finished with other inputs"):
        record.begin("build", {"tag": "v1.0.1"})
    assert load(tmp_path, "core", "1.0.0").outputs("build") == {"files": 2}


def test_a_failed_step_keeps_its_error_redacted(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPI_TOKEN", "pypi-SECRET-canary-123")
    record = load(tmp_path, "core", "1.0.0")
    with pytest.raises(RuntimeError):
        with record.running("pypi-upload", {"url": "https://user:pw@example.org/"}):
            raise RuntimeError("refused token pypi-SECRET-canary-123")
    text = record.path.read_text()
    assert "pypi-SECRET-canary-123" not in text and "user:pw" not in text
    step = json.loads(text)["steps"]["pypi-upload"]
    assert step["status"] == "failed" and step["error"] == "refused token ***"
    assert (tmp_path / ".release/.gitignore").read_text() == "*\n"
