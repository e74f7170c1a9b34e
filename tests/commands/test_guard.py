"""The one failure handling of tasks, sessions and the program (release.commands.guard): an
expected failure is one redacted line and its exit code, never a traceback."""

from __future__ import annotations

import pytest

from release.commands.guard import Failure, attempt
from release.errors import ReleaseError, UnmanagedLines, UsageError


def _raise(exc: BaseException) -> None:
    raise exc


def test_a_command_that_succeeds_hands_back_its_result() -> None:
    assert attempt(lambda: 7) == 7


@pytest.mark.parametrize(("exc", "failure"), [
    (ReleaseError("no such train"), Failure("error: no such train", 1)),
    (UsageError("give --train"), Failure("error: give --train", 2)),
    (BrokenPipeError(), Failure(None, 141)),
    (KeyboardInterrupt(), Failure("interrupted", 130)),
])
def test_each_failure_is_one_line_and_its_code(exc: BaseException, failure: Failure) -> None:
    assert attempt(lambda: _raise(exc)) == failure


def test_a_disk_error_is_one_line() -> None:
    outcome = attempt(lambda: _raise(PermissionError(13, "Permission denied", "/x/.release")))
    assert isinstance(outcome, Failure) and outcome.code == 1
    assert outcome.message is not None and outcome.message.startswith("error: ")
    assert "\n" not in outcome.message


def test_the_message_is_redacted_and_a_report_goes_first(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PYPI_TOKEN", "pypi-SECRET-canary-456")
    outcome = attempt(lambda: _raise(ReleaseError("refused pypi-SECRET-canary-456")))
    assert outcome == Failure("error: refused ***", 1)
    assert attempt(lambda: _raise(UnmanagedLines("2 lines", "a.txt:1\nb.txt:2"))) == \
        Failure("error: 2 lines", 1)
    assert capsys.readouterr().out == "a.txt:1\nb.txt:2\n"
    assert isinstance(outcome, Failure) and outcome.say() == 1
    assert capsys.readouterr().err == "error: refused ***\n"
