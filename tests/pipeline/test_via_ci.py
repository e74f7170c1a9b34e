"""`release-train release --via-ci`: the release stops after pushing the tag and follows the
GitHub Actions run the tag started, against a loopback GitHub stand-in that checks every
request; the "CI" publishes to a real devpi index standing in for PyPI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from release.pipeline import rehearsal
from release.pipeline.localindex import LocalDevpi, LocalIndex
from tests.helpers.commands import invoke, release_train
from tests.helpers.dists import Upload
from tests.helpers.github import TOKEN, FakeGitHub, Seen
from tests.helpers.indexes import fresh_indexes
from tests.helpers.repos import git, records, scratch_clone

pytestmark = pytest.mark.slow  # every test here is end to end

BASE = "/repos/example/skyline"
LOGS = b"PK\x05\x06" + b"\0" * 18  # an empty zip


def ci_repo(tmp_path: Path) -> Path:
    repo = scratch_clone(tmp_path)
    assert invoke("init-ci", "--repo", str(repo)).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "ci: release workflows")
    git(repo, "push", "-q")
    return repo


def environment(fake: FakeGitHub, indexes: dict[str, LocalIndex]) -> dict[str, str]:
    return {**rehearsal.index_env(indexes), "GITHUB_TOKEN": TOKEN, "GH_TOKEN": "",
            "GITHUB_REPOSITORY": "example/skyline", "GITHUB_API_URL": fake.url,
            "NO_PROXY": "127.0.0.1,localhost", "RELEASE_CI_POLL": "0.05",
            "RELEASE_CI_TIMEOUT": "120"}


def test_via_ci_waits_for_the_tags_run_and_records_it(
        tmp_path: Path, github: FakeGitHub, server: LocalDevpi,
        twine_upload: Upload) -> None:
    repo = ci_repo(tmp_path)
    indexes = fresh_indexes(server)
    env = environment(github, indexes)
    polls: list[str] = []

    def actions(seen: Seen) -> tuple[int, Any] | None:
        path, query = urlsplit(seen.path).path, parse_qs(urlsplit(seen.path).query)
        if path == f"{BASE}/actions/workflows/release.yml/runs":
            assert query["event"] == ["push"]
            sha = query["head_sha"][0]
            assert sha == git(repo, "rev-parse", "v0.4.3^{commit}")
            return 200, {"workflow_runs": [{"id": 42, "head_sha": sha, "status": "queued",
                                            "conclusion": None, "html_url": "https://gh/run/42"}]}
        if path == f"{BASE}/actions/runs/42":
            polls.append(path)
            if len(polls) == 1:  # the run publishes, as trusted publishing would
                files = sorted((repo / ".release/dist/core-0.4.3").glob("*.*[lz]"))
                assert twine_upload(indexes["pypi"], *files).returncode == 0
                return 200, {"id": 42, "status": "in_progress", "conclusion": None,
                             "html_url": "https://gh/run/42"}
            return 200, {"id": 42, "status": "completed", "conclusion": "success",
                         "html_url": "https://gh/run/42"}
        if path == f"{BASE}/actions/runs/42/logs":
            return 200, LOGS
        if path == "/upload/releases/1/assets":
            return 201, {"state": "uploaded"}
        return None

    github.routes.append(actions)
    github.answer("GET", f"{BASE}/git/ref/tags/v0.4.3", 200, {"ref": "refs/tags/v0.4.3"})
    github.answer("POST", f"{BASE}/releases", 201, {
        "html_url": "https://gh/releases/v0.4.3",
        "upload_url": github.url + "/upload/releases/1/assets{?name,label}"})
    out = release_train("--repo", str(repo), "release", "--train", "core", "--part", "patch",
                        "--via-ci", **env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert TOKEN not in out.stdout + out.stderr
    assert "CI run for v0.4.3: https://gh/run/42" in out.stdout or \
        "CI run https://gh/run/42 for v0.4.3: success" in out.stdout
    for seen in github.seen:
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}", seen.path
    record = records(repo)["core-0.4.3"]
    assert TOKEN not in json.dumps(record)
    ci = record["ci"]
    assert ci["conclusion"] == "success" and ci["url"] == "https://gh/run/42"
    assert Path(ci["logs"]).read_bytes() == LOGS
    assert Path(ci["logs"]).parent == repo / ".release/ci"
    assert len(ci["files"]) == 10 and all(ci["files"].values())
    assert "testpypi-upload" not in record["steps"]  # CI did the publishing
    uploaded = [s.path.split("name=")[1] for s in github.seen if s.path.startswith("/upload/")]
    assert sorted(uploaded) == sorted(ci["files"])
    assert git(repo.parent / "origin.git", "tag").split().count("v0.4.3") == 1
    # the downstream followed the release CI verified on PyPI
    assert "skyline-streaming==0.4.3" in (repo / "addon/Dockerfile").read_text()
    assert "core 0.4.3: complete" in invoke("status", "--repo", str(repo)).stdout


def test_via_ci_preflight_refuses_in_one_line_before_anything_is_written(
        tmp_path: Path, github: FakeGitHub, server: LocalDevpi) -> None:
    repo = scratch_clone(tmp_path)
    env = environment(github, fresh_indexes(server))
    before = git(repo, "rev-parse", "HEAD")
    out = release_train("--repo", str(repo), "release", "--train", "core", "--part", "patch",
                        "--via-ci", **env)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "error: .github/workflows/release.yml does not exist: write it with invoke init-ci, "
        "commit and push it, register it as the trusted publisher, then release --via-ci")
    no_token = release_train("--repo", str(repo), "release", "--train", "core", "--part",
                             "patch", "--via-ci", **{**env, "GITHUB_TOKEN": ""})
    assert no_token.returncode == 1 and no_token.stderr.startswith("error: no GitHub token")
    assert git(repo, "rev-parse", "HEAD") == before and git(repo, "tag") == ""
    assert github.seen == []
