"""The downstream smoke: the add-on's `smoke` command against each index it is verified on,
on real devpi indexes, through the commands users type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.commands import FAST, ONE, PLATFORM, invoke, nox, release_train
from tests.helpers.repos import git, records, scratch_clone

pytestmark = pytest.mark.slow  # every test here is end to end


def set_smoke(repo: Path, argv: str, optional: bool = False) -> None:
    path = repo / "pyproject.toml"
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("smoke")]
    at = lines.index("[tool.release.trains.addon]") + 1
    lines[at:at] = [f"smoke = {argv}"] + (["smoke-optional = true"] if optional else [])
    path.write_text("\n".join(lines) + "\n")
    git(repo, "commit", "-qam", "smoke")


def test_smoke_runs_after_testpypi_install_back_and_a_missing_program_is_one_line(
        tagged: Path, values: dict[str, str]) -> None:
    repo = ["--repo", str(tagged)]
    assert nox("-s", "build", "--", *repo).returncode == 0
    out = nox("-s", "testpypi", *ONE, "--", *repo, *PLATFORM, **values)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "smoke of addon with skyline-streaming==0.4.2 from testpypi: ok" in out.stdout
    step = records(tagged)["core-0.4.2"]["steps"]["testpypi-smoke"]  # type: ignore[index]
    assert step["status"] == "done" and step["where"] == values["TESTPYPI_SIMPLE_URL"]
    (run,) = step["outputs"]["runs"]
    assert run["exit_code"] == 0 and run["seconds"] > 0
    assert run["argv"].startswith("python3 addon/smoke.py skyline-streaming==0.4.2 http://127")
    assert run["argv"].endswith(values["PYPI_SIMPLE_URL"])
    log = Path(run["log"])
    assert log.parent == tagged / ".release/logs" and "skyline-streaming" in log.read_text()
    assert values["TESTPYPI_TOKEN"] not in log.read_text() + json.dumps(step)
    assert "extensions-1.2.0" in records(tagged)  # nothing pins extensions: no smoke there
    assert "testpypi-smoke" not in records(tagged)["extensions-1.2.0"]["steps"]  # type: ignore[operator]

    set_smoke(tagged, '["no-such-docker", "build", "--build-arg", "SPEC={spec}", "."]')
    git(tagged, "tag", "-d", "v0.4.2")  # (the smoke config is not part of the release)
    git(tagged, "tag", "-a", "v0.4.2", "-m", "core 0.4.2")
    for name in list(records(tagged)):
        path = tagged / ".release" / f"{name}.json"
        data = json.loads(path.read_text())
        data["steps"].pop("testpypi-smoke", None)
        path.write_text(json.dumps(data))
    missing = nox("-s", "testpypi", *ONE, "--", *repo, *PLATFORM, **values)
    assert missing.returncode == 1
    assert [ln for ln in missing.stderr.splitlines() if ln.startswith("error:")] == [
        "error: smoke of addon: 'no-such-docker' is not installed (smoke = no-such-docker "
        "build --build-arg 'SPEC={spec}' .): install it, or set smoke-optional = true on the "
        "train"]
    set_smoke(tagged, '["no-such-docker", "build", "."]', optional=True)
    git(tagged, "tag", "-d", "v0.4.2")
    git(tagged, "tag", "-a", "v0.4.2", "-m", "core 0.4.2")
    skipped = nox("-s", "testpypi", *ONE, "--", *repo, *PLATFORM, **values)
    assert skipped.returncode == 0, skipped.stdout[-3000:] + skipped.stderr[-3000:]
    assert "warning: smoke of addon: 'no-such-docker' is not installed" in skipped.stdout
    assert "testpypi-upload: done before" in skipped.stdout  # only the smoke ran again


def test_the_release_smokes_both_indexes_and_releases_the_addon_in_its_own_repository(
        tmp_path: Path, values: dict[str, str]) -> None:
    repo = scratch_clone(tmp_path)
    addon = tmp_path / "ws" / "skyline-addon"
    assert (addon / ".git").is_dir()  # the scratch add-on repository, beside the clone
    out = release_train("--repo", str(repo), "release", "--part", "patch", *FAST, **values)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    steps = records(repo)["core-0.4.3"]["steps"]
    for index in ("testpypi", "pypi"):
        (run,) = steps[f"{index}-smoke"]["outputs"]["runs"]  # type: ignore[index]
        assert run["exit_code"] == 0 and run["spec"] == "skyline-streaming==0.4.3"
    origin = tmp_path / "ws" / "skyline-addon-origin.git"
    assert git(origin, "tag").split() == ["skyline-addon-v2.0.2"]
    assert "skyline-streaming==0.4.3" in git(origin, "show", "main:skyline/Dockerfile")
    linked = records(repo)["core-0.4.3"]["downstreams"]["ha-addon"]  # type: ignore[index]
    assert linked["tag"] == "skyline-addon-v2.0.2"
    assert linked["commit"] == git(origin, "rev-parse", "main")
    assert invoke("status", "--repo", str(repo)).stdout.count("complete") == 2
