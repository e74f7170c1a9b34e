"""`invoke init-ci` writes release workflows that actionlint accepts and that mean exactly the
data they were made from; this repository's own workflows pass actionlint and are current."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from release.config import load
from release.proc import run
from release.workflows import (
    FINAL_WORKFLOW,
    RC_WORKFLOW,
    WORKFLOWS_DIR,
    release_candidate,
    render_workflows,
    to_yaml,
)
from release.workflows import release as final_workflow
from tests.helpers.commands import invoke
from tests.helpers.repos import BIN, ROOT, copy_example, env

ACTIONLINT = BIN / "actionlint"
needs_actionlint = pytest.mark.skipif(not ACTIONLINT.exists(),
                                      reason="actionlint ships only for linux x86_64")


def actionlint(files: Sequence[Path]) -> subprocess.CompletedProcess[str]:
    """actionlint on exactly these files; no shellcheck or pyflakes needed."""
    return run([ACTIONLINT, "-no-color", "-shellcheck=", "-pyflakes=", *files], check=False,
               timeout=60)


def parse_yaml(text: str) -> Any:
    yaml = pytest.importorskip("ruamel.yaml")
    return yaml.YAML(typ="safe", pure=True).load(io.StringIO(text))


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "monorepo")


@needs_actionlint
def test_init_ci_writes_workflows_that_actionlint_accepts(scratch: Path) -> None:
    out = invoke("init-ci", "--repo", str(scratch))
    assert out.returncode == 0, out.stderr
    rc, final = scratch / WORKFLOWS_DIR / RC_WORKFLOW, scratch / WORKFLOWS_DIR / FINAL_WORKFLOW
    assert out.stdout.splitlines()[:2] == [f"wrote {rc}", f"wrote {final}"]
    lint = actionlint([rc, final])
    assert lint.returncode == 0, lint.stdout + lint.stderr

    candidate = parse_yaml(rc.read_text())
    assert candidate["on"]["push"]["tags"] == [
        "v*a*", "v*b*", "v*rc*", "extensions-v*a*", "extensions-v*b*", "extensions-v*rc*"]
    build = candidate["jobs"]["build"]
    runs = [step.get("run", "") for step in build["steps"]]
    assert 'release-train check --tag "$RELEASE_TAG"' in runs
    assert runs.index('release-train check --tag "$RELEASE_TAG"') < \
        next(i for i, r in enumerate(runs) if r.startswith("nox -s build"))
    case = next(r for r in runs if r.startswith("case"))
    assert case.index("extensions-v*) train=extensions") < case.index("v*) train=core")
    assert candidate["env"]["RELEASE_TAG"] == "${{ github.ref_name }}"
    assert list(candidate["jobs"]) == ["build", "testpypi", "verify-testpypi", "report"]
    assert_release_structure(candidate, ["testpypi"])

    release = parse_yaml(final.read_text())
    tags = release["on"]["push"]["tags"]
    assert tags[:2] == ["v*", "extensions-v*"] and "!v*rc*" in tags and "!extensions-v*a*" in tags
    assert not any("addon" in t for t in tags)  # an artifact train is not published by CI
    assert list(release["jobs"]) == ["build", "testpypi", "verify-testpypi", "pypi",
                                     "verify-pypi", "report"]
    assert_release_structure(release, ["testpypi", "pypi"])
    pypi = release["jobs"]["pypi"]
    assert pypi["needs"] == ["build", "verify-testpypi"]  # after every runner and Python
    runs = [s.get("run", "") for s in pypi["steps"]]
    merge = next(i for i, r in enumerate(runs) if r.startswith("nox -s report"))
    upload = next(i for i, r in enumerate(runs) if r.startswith("nox -s pypi-3.13"))
    assert merge < upload and "--merge ci-records" in runs[merge]
    fetched = [s["with"].get("pattern") for s in pypi["steps"] if "pattern" in s.get("with", {})]
    assert fetched == ["records-verify-testpypi-*"]


def _uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(action)]


def assert_release_structure(workflow: dict[str, Any], indexes: list[str]) -> None:
    """Upload once per index (the only job with id-token: write for it), verify on every
    runner x Python with the same nox session, built files as artifacts, records merged."""
    jobs = workflow["jobs"]
    for index in indexes:
        holders = [name for name, job in jobs.items()
                   if job.get("permissions", {}).get("id-token") == "write"
                   and job.get("environment") == index]
        assert holders == [index], index
        upload = jobs[index]
        assert upload["permissions"] == {"contents": "read", "id-token": "write"}
        assert "strategy" not in upload and upload["runs-on"] == "ubuntu-latest"
        runs = [s.get("run", "") for s in upload["steps"]]
        assert f'nox -s {index}-3.13 -- --train "$TRAIN" --upload-only' in runs
        verify = jobs[f"verify-{index}"]
        assert "permissions" not in verify and "environment" not in verify
        assert verify["strategy"]["matrix"] == {
            "os": ["ubuntu-latest", "windows-latest", "macos-latest"],
            "python": ["3.11", "3.12", "3.13"]}
        assert verify["runs-on"] == "${{ matrix.os }}"
        assert verify["defaults"]["run"]["shell"] == "bash"
        assert verify["env"]["PYTHON"] == "${{ matrix.python }}"
        runs = [s.get("run", "") for s in verify["steps"]]
        assert [r for r in runs if r.startswith("nox")] == [
            'nox -s "verify-$PYTHON" -- --train "$TRAIN" --json platform-report.json']
        assert not any("--upload-only" in r or "testpypi-" in r or "pypi-" in r
                       for r in runs)  # verify jobs never upload
        # The hand-over: the build job's files, then the upload job's records.
        fetched = [s["with"].get("name") for s in _uses(verify, "actions/download-artifact")]
        assert fetched == ["built-files", f"records-{index}-upload"]
        kept = [s["with"]["name"] for s in _uses(verify, "actions/upload-artifact")]
        assert kept == [f"records-verify-{index}-${{{{ matrix.os }}}}-${{{{ matrix.python }}}}"]
        assert [s["with"]["name"] for s in _uses(upload, "actions/upload-artifact")] == \
            [f"records-{index}-upload"]
    build = jobs["build"]
    kept = _uses(build, "actions/upload-artifact")
    assert [s["with"]["name"] for s in kept] == ["built-files"]
    assert kept[0]["with"]["path"] == "dist/\n.release/\n"
    for name, job in jobs.items():
        if name != "build":
            assert "built-files" in [s["with"].get("name")
                                     for s in _uses(job, "actions/download-artifact")] \
                or name == "report"
    report = jobs["report"]
    last = indexes[-1]
    assert report["needs"] == ["build", f"verify-{last}"]
    assert "permissions" not in report
    runs = [s.get("run", "") for s in report["steps"]]
    assert 'nox -s report -- --train "$TRAIN" --merge ci-records --json ' \
        "platform-report.json" in runs
    patterns = [s["with"].get("pattern") for s in _uses(report, "actions/download-artifact")]
    assert f"records-verify-{last}-*" in patterns


def test_runners_follow_the_configured_platforms(scratch: Path) -> None:
    from release.workflows import runners

    config = scratch / "pyproject.toml"
    text = config.read_text()
    config.write_text(text.replace('pythons = ["3.11", "3.12", "3.13"]',
                                   'pythons = ["3.11", "3.12", "3.13"]\n'
                                   'platforms = ["aarch64-manylinux_2_28", "windows"]'))
    assert runners(load(scratch)) == ["ubuntu-latest", "windows-latest"]
    config.write_text(text)
    assert runners(load(scratch)) == ["ubuntu-latest", "windows-latest", "macos-latest"]


def test_the_yaml_means_the_data(scratch: Path) -> None:
    """Parsed back with a YAML 1.2 parser, each file is exactly the data it was made from."""
    config = load(scratch)
    rendered = render_workflows(config)
    assert parse_yaml(rendered[WORKFLOWS_DIR / RC_WORKFLOW]) == \
        release_candidate(config, ".github/release-train.txt")
    assert parse_yaml(rendered[WORKFLOWS_DIR / FINAL_WORKFLOW]) == \
        final_workflow(config, ".github/release-train.txt")
    tricky = {"on": {"x": ["3.10", "3.1", "yes", "no", "on", "null", "~", "0x1f", "1e3", "",
                           "a: b", "a #b", "#a", "- a", "-a", "!v*", "*a", "&a", "'q'", '"q"',
                           "trailing ", "end:", "${{ x }}", "{a}", "[a]", "?a", "%a", "@a",
                           "back\\slash", "tab\there", "üñï"]},
              "run": "line one\n  indented \"quoted\": # not a comment\n\nlast\n",
              "no-newline": "a\nb", "empty": {}, "none": [], "flag": False, "n": 3,
              "nested": [{"a": 1, "b": [{"c": "d"}]}, [1, 2]]}
    assert parse_yaml(to_yaml(tricky)) == tricky


def test_init_ci_refuses_to_overwrite_without_force(scratch: Path) -> None:
    target = scratch / WORKFLOWS_DIR / FINAL_WORKFLOW
    target.parent.mkdir(parents=True)
    target.write_text("name: mine\n")
    out = invoke("init-ci", "--repo", str(scratch))
    assert out.returncode == 1
    assert out.stderr.strip() == ("error: .github/workflows/release.yml already exists: pass "
                                  "--force to replace")
    assert target.read_text() == "name: mine\n"
    assert not (scratch / WORKFLOWS_DIR / RC_WORKFLOW).exists()  # all or nothing
    forced = invoke("init-ci", "--repo", str(scratch), "--force", "--install",
                    "release-train==0.3.0")
    assert forced.returncode == 0, forced.stderr
    assert "python -m pip install --require-hashes --no-deps -r .github/release-train.txt" \
        in target.read_text()
    assert (scratch / ".github" / "release-train.in").read_text() == "release-train==0.3.0\n"


def _unpinned_installs(text: str) -> list[str]:
    """Install commands that take release-train from an index by name alone."""
    return [line for line in text.splitlines()
            if "pip install" in line and "release-train" in line and "--require-hashes" not in
            line and "==" not in line.split("release-train", 1)[1][:2]]


def test_generated_workflows_never_install_an_unpinned_release_train(scratch: Path) -> None:
    out = invoke("init-ci", "--repo", str(scratch), "--dry-run")
    assert out.returncode == 0, out.stderr
    assert not (scratch / WORKFLOWS_DIR).exists()  # --dry-run writes nothing
    assert "--require-hashes" in out.stdout
    assert not _unpinned_installs(out.stdout)
    assert "pip install release-train" not in out.stdout
    for text in render_workflows(load(scratch)).values():
        assert not _unpinned_installs(text)
        assert "pip install release-train" not in text
    refused = invoke("init-ci", "--repo", str(scratch), "--install", "release-train")
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("error: --install 'release-train': give an exact")


@needs_actionlint
def test_this_repository_ships_workflows_that_pass_actionlint() -> None:
    files = sorted((ROOT / WORKFLOWS_DIR).glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", RC_WORKFLOW, FINAL_WORKFLOW}
    lint = actionlint(files)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    ci = parse_yaml((ROOT / WORKFLOWS_DIR / "ci.yml").read_text())
    assert set(ci["on"]) == {"push", "pull_request"}
    assert [s.get("run") for s in ci["jobs"]["test"]["steps"]][-1] == "bash .ci/run"


def test_this_repositorys_release_workflows_are_current() -> None:
    for rel, text in render_workflows(load(ROOT)).items():
        assert (ROOT / rel).read_text() == text, f"{rel} is stale: run invoke init-ci --force"


@needs_actionlint
def test_actionlint_really_checks(tmp_path: Path) -> None:
    """A broken workflow fails, so a pass above means something."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    assert actionlint([bad]).returncode != 0


@pytest.mark.slow
def test_init_ci_gives_a_repo_without_a_noxfile_the_release_sessions(tmp_path: Path) -> None:

    repo = copy_example(tmp_path / "repo")
    assert not (repo / "noxfile.py").exists()
    out = invoke("init-ci", "--repo", str(repo))
    assert out.returncode == 0, out.stderr
    listed = subprocess.run([str(BIN / "nox"), "-l"], cwd=repo, env=env(), capture_output=True,
                            text=True)
    assert listed.returncode == 0, listed.stderr
    for session in ("build", "report", "rehearse", *(f"{s}-{p}" for s in ("testpypi", "pypi",
                                                                     "verify")
                                                  for p in ("3.11", "3.12", "3.13"))):
        assert f"- {session} -> " in listed.stdout
