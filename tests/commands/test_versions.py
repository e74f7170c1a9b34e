"""`invoke bump/check/status` on a scratch copy of the example, typed as users type them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.commands import invoke
from tests.helpers.repos import BIN, copy_example, env, git, snapshot

CORE_FILES = {
    "packages/skyline-core/pyproject.toml", "packages/skyline/src/skyline/__init__.py",
    "packages/skyline/pyproject.toml", "bundles/skyline-streaming/pyproject.toml",
    "bundles/skyline-vision/pyproject.toml", "bundles/skyline-vision-cuda/pyproject.toml",
    "docs/install.md", "compose.yaml",
}


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "monorepo")


def changed_files(repo: Path) -> set[str]:
    return set(git(repo, "diff", "--name-only").splitlines())


def test_bump_core_minor_changes_every_core_spot_and_nothing_else(scratch: Path) -> None:
    out = invoke("bump", "--repo", str(scratch), "--part", "minor", "--train", "core")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("core: 0.4.2 -> 0.5.0  (tag v0.5.0)")
    assert changed_files(scratch) == CORE_FILES
    diff = git(scratch, "diff", "-U0")
    removed = [line for line in diff.splitlines() if line.startswith("-") and "0.4.2" in line]
    added = [line for line in diff.splitlines() if line.startswith("+") and "0.5.0" in line]
    assert len(removed) == len(added) >= 10
    assert "skyline == 0.5.0" in (scratch / "bundles/skyline-vision/pyproject.toml").read_text()
    # The add-on points at what is published: only pin-downstream moves it.
    assert "skyline-streaming==0.4.2" in (scratch / "addon/Dockerfile").read_text()
    assert 'version: "1.0.3"' in (scratch / "addon/config.yaml").read_text()
    check = invoke("check", "--repo", str(scratch))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "core 0.5.0, extensions 1.2.0, addon 1.0.3" in check.stdout


def test_a_hand_edit_makes_check_fail_naming_the_file(scratch: Path) -> None:
    path = scratch / "packages/skyline/src/skyline/__init__.py"
    path.write_text(path.read_text().replace("0.4.2", "0.4.3"))
    out = invoke("check", "--repo", str(scratch))
    assert out.returncode == 1
    assert "packages/skyline/src/skyline/__init__.py:" in out.stderr
    assert "is 0.4.3, but train core is at 0.4.2" in out.stderr
    assert "Traceback" not in out.stderr


def test_dry_run_writes_nothing(scratch: Path) -> None:
    before = snapshot(scratch)
    out = invoke("bump", "--repo", str(scratch), "--part", "patch", "--train", "extensions",
                 "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "extensions: 1.2.0 -> 1.2.1  (tag extensions-v1.2.1)" in out.stdout
    assert "would change (dry run: nothing written)" in out.stdout
    assert snapshot(scratch) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "0.5.0"], "--to names one version: choose its train with --train (core, "
                            "extensions, addon)"),
        (["--part", "minor", "--train", "nope"], "no train named 'nope'"),
        (["--part", "sideways", "--train", "core"], "unknown part 'sideways'"),
        (["--to", "0.4.1", "--train", "core"], "not greater than the current 0.4.2"),
        (["--to", "banana", "--train", "core"], "'banana' is not a valid PEP 440 version"),
        (["--part", "post", "--train", "core", "--to", "1.0"], "exactly one of --part or --to"),
        (["--part", "pre", "--train", "core"], "not a pre-release"),
    ],
)
def test_bad_input_is_one_line_exit_nonzero_and_writes_nothing(
        scratch: Path, args: list[str], message: str) -> None:
    before = snapshot(scratch)
    out = invoke("bump", "--repo", str(scratch), *args)
    assert out.returncode != 0
    assert out.stderr.strip() == out.stderr.strip().splitlines()[0]  # one line
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert snapshot(scratch) == before


def test_broken_config_is_one_line(scratch: Path) -> None:
    cfg = scratch / "pyproject.toml"
    cfg.write_text(cfg.read_text().replace('packages = ["extensions/*"]',
                                           'packages = ["extensions/*"]\nflavour = "x"'))
    out = invoke("check", "--repo", str(scratch))
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: pyproject.toml: [tool.release.trains.extensions] "
                                  "unknown key 'flavour' (allowed: before-build, checks, confirm, "
                                  "exclude, github, kind, occurrences, packages, pins, "
                                  "pull-request, repository, smoke, smoke-optional, tag-format, "
                                  "version)")


def test_status_shows_trains_packages_and_where_versions_live(scratch: Path) -> None:
    out = invoke("status", "--repo", str(scratch))
    assert out.returncode == 0, out.stderr
    assert "core (python) 0.4.2  tag v0.4.2" in out.stdout
    assert "extensions (python) 1.2.0  tag extensions-v1.2.0" in out.stdout
    assert "addon (artifact) 1.0.3  tag addon-v1.0.3" in out.stdout
    assert out.stdout.count("  package ") == 14
    assert "pins core==0.4.2 at addon/Dockerfile:" in out.stdout


def test_release_train_program_takes_repo_before_the_task(scratch: Path) -> None:
    import subprocess


    out = subprocess.run([str(BIN / "release-train"), "--repo", str(scratch), "check"],
                         capture_output=True, text=True, env=env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok: ")
