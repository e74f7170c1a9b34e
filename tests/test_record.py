"""The release record: what comes next, immutable finished steps, nothing secret written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release.errors import ReleaseError
from release.record import journaled, load


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


def test_one_journaled_step_across_several_records(tmp_path: Path) -> None:
    """A stage of two trains is one step: running in both, then done with each train's
    outputs, or failed in both with the error."""
    core, ext = load(tmp_path, "core", "1.0.0"), load(tmp_path, "ext", "2.0.0")
    url = "http://127.0.0.1:1/a/+simple/"
    inputs = {"core": {"index": url}, "ext": {"index": url}}
    with journaled([core, ext], "testpypi-upload", inputs, where=url) as out:
        assert load(tmp_path, "ext", "2.0.0").step("testpypi-upload")["status"] == "running"
        out["core"]["uploaded"], out["ext"]["uploaded"] = ["a.whl"], ["b.whl"]
    assert load(tmp_path, "core", "1.0.0").outputs("testpypi-upload") == {"uploaded": ["a.whl"]}
    assert load(tmp_path, "ext", "2.0.0").done("testpypi-upload", url)
    with pytest.raises(ReleaseError, match="boom"):
        with journaled([core, ext], "testpypi-verify", inputs):
            raise ReleaseError("boom")
    for again in (load(tmp_path, "core", "1.0.0"), load(tmp_path, "ext", "2.0.0")):
        step = again.data["steps"]["testpypi-verify"]
        assert step["status"] == "failed" and step["error"] == "boom"


def test_a_stage_done_against_one_index_url_is_not_done_for_another(tmp_path: Path) -> None:
    record = load(tmp_path, "core", "1.0.0")
    a, b = "http://127.0.0.1:1/a/+simple/", "http://127.0.0.1:1/b/+simple/"
    record.begin("testpypi-upload", {"index": a}, where=a)
    record.finish("testpypi-upload", {"uploaded": ["x.whl"]}, 1.0)
    assert record.done("testpypi-upload", a) and not record.done("testpypi-upload", b)
    record.begin("testpypi-upload", {"index": b}, where=b)  # other inputs, other URL: allowed
    record.finish("testpypi-upload", {"uploaded": ["x.whl"]}, 1.0)
    again = load(tmp_path, "core", "1.0.0")
    step = again.data["steps"]["testpypi-upload"]
    assert again.done("testpypi-upload", b) and not again.done("testpypi-upload", a)
    assert [e["where"] for e in step["earlier"]] == [a]


def test_endpoint_urls_in_records_carry_no_credentials() -> None:
    from release.publish.endpoints import public_url

    assert public_url("https://user:tok@upload.example.org/legacy/") == \
        "https://upload.example.org/legacy/"
    assert public_url("http://127.0.0.1:3141/u/ix/") == "http://127.0.0.1:3141/u/ix/"


@pytest.mark.parametrize("text, says", [
    ("{not json", "unreadable release record"),
    ('{"format": 99, "train": "core", "version": "1.0.0", "steps": {}}',
     "unknown release record format 99"),
    ("[1, 2]", "not a release record"),
])
def test_a_corrupt_or_unknown_record_is_one_line_naming_the_file(
        tmp_path: Path, text: str, says: str) -> None:
    from release.record import all_records

    path = tmp_path / ".release" / "core-1.0.0.json"
    path.parent.mkdir()
    path.write_text(text)
    for read in (lambda: load(tmp_path, "core", "1.0.0"), lambda: all_records(tmp_path)):
        with pytest.raises(ReleaseError) as caught:
            read()
        message = str(caught.value)
        assert message.startswith(str(path)) and says in message
        assert "\n" not in message
