"""The fault matrix: every row of the table (tests/faults/table.py) is run as its scenario,
against real parts, and docs/faults.md shows the table as it is.

The promise: a release either completes, or stops with one clear line and can be resumed;
nothing published is ever lost or silently replaced; no secret ever leaks (every scenario runs
with a canary in every credential variable, and the canary is the token the index accepts)."""

from __future__ import annotations

from pathlib import Path

import pytest

# importing the scenario modules registers their scenarios
from tests.faults import index_faults, release_faults, repo_faults, version_faults  # noqa: F401
from tests.faults.lab import ACTIVE, SCENARIOS
from tests.faults.table import BY_ID, DOC, FAULTS, Fault, render, shows
from tests.helpers.canary import leaks


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_fault(fault: Fault, request: pytest.FixtureRequest) -> None:
    seen = SCENARIOS[fault.id](request)
    assert seen.exit == fault.exit, seen.output[-3000:]
    assert "\n" not in seen.line
    assert shows(seen.line, fault.message), f"{seen.line!r} is not {fault.message!r}"
    assert "Traceback" not in seen.output
    # Nothing leaked: output, records, logs, every file the release touched.
    for lab in ACTIVE:
        assert leaks([*lab.outputs, seen.output], [lab.repo, lab.dist]) == []
    tmp: Path = request.getfixturevalue("tmp_path")
    assert leaks([seen.output], [tmp]) == []


def test_every_fault_has_its_scenario() -> None:
    assert set(SCENARIOS) == set(BY_ID)
    assert len(FAULTS) >= 13


def test_docs_show_the_fault_matrix() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), \
        "docs/faults.md is stale: run python -m tests.faults.table"
