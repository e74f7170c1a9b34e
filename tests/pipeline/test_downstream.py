"""A downstream in its own repository (`repository = "../skyline-addon"`): `invoke
pin-downstream` preflights that checkout, commits exactly the pinned files on a release
branch, tags and pushes there (or opens a pull request against a loopback GitHub stand-in),
and the upstream record links the downstream commit and tag. Real git throughout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release.pipeline import rehearsal
from release.record import load as load_record
from tests.helpers.commands import invoke
from tests.helpers.github import TOKEN, FakeGitHub
from tests.helpers.repos import ROOT, copy_example, git, snapshot

TAG = "skyline-addon-v2.0.2"


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path]:
    """The example and its add-on repository beside it (with a bare origin), core 0.4.3
    verified on PyPI by its record."""
    mono = copy_example(tmp_path / "monorepo")
    addon = tmp_path / "skyline-addon"
    rehearsal._scratch_repo(ROOT / "examples/skyline-addon", addon,
                            tmp_path / "skyline-addon-origin.git")
    record = load_record(mono, "core", "0.4.3")
    record.set("verifications", {"pypi": {"ok": True}})
    return mono, addon


def pin(mono: Path, *args: str, **env: str) -> tuple[int, str, str]:
    out = invoke("pin-downstream", "--repo", str(mono), "--train", "ha-addon", *args, **env)
    assert "Traceback" not in out.stderr
    return out.returncode, out.stdout, out.stderr


def test_pins_commits_tags_and_pushes_in_the_addon_repository(repos: tuple[Path, Path]) -> None:
    mono, addon = repos
    before = snapshot(mono / "packages")
    code, out, err = pin(mono)
    assert code == 0, err
    origin = addon.parent / "skyline-addon-origin.git"
    head = git(addon, "rev-parse", "HEAD")
    assert git(addon, "log", "-1", "--format=%s") == \
        "chore(release): ha-addon 2.0.2 (pins core 0.4.3)"
    assert git(addon, "show", "--name-only", "--format=", "HEAD").split() == [
        "skyline/Dockerfile", "skyline/config.yaml"]
    assert git(addon, "rev-parse", f"{TAG}^{{commit}}") == head
    assert git(origin, "rev-parse", "main") == head
    assert git(origin, "rev-parse", f"{TAG}^{{commit}}") == head
    assert git(addon, "rev-parse", "release/ha-addon-v2.0.2") == head
    assert git(addon, "branch", "--show-current") == "main"
    assert "skyline-streaming==0.4.3" in (addon / "skyline/Dockerfile").read_text()
    assert 'version: "2.0.2"' in (addon / "skyline/config.yaml").read_text()
    assert f"ha-addon 2.0.2: commit {head[:12]}" in out or f"tag {TAG}" in out
    # The upstream is untouched; its record links the downstream commit and tag.
    assert git(mono, "status", "--porcelain") == ""
    assert snapshot(mono / "packages") == before
    data = json.loads((mono / ".release/core-0.4.3.json").read_text())
    linked = data["downstreams"]["ha-addon"]
    assert (linked["commit"], linked["tag"], linked["pushed"]) == (head, TAG, True)
    assert linked["repository"] == str(addon)
    assert data["steps"]["downstream"]["status"] == "done"
    # Again: nothing more to do, nothing changes.
    code, out, err = pin(mono)
    assert code == 0, err
    assert git(addon, "rev-parse", "HEAD") == head
    assert git(addon, "tag").split() == [TAG]


def test_a_dirty_or_stale_addon_checkout_is_refused_in_one_line(
        repos: tuple[Path, Path], tmp_path: Path) -> None:
    mono, addon = repos
    (addon / "notes.txt").write_text("local work\n")
    before = snapshot(addon)
    code, _, err = pin(mono)
    assert code == 1
    assert err.strip() == ("error: working tree is not clean: notes.txt (untracked): commit, "
                           "stash or remove them first (git status)")
    assert snapshot(addon) == before
    (addon / "notes.txt").unlink()
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(tmp_path / "skyline-addon-origin.git"), str(other))
    (other / "README.md").write_text("moved on\n")
    git(other, "commit", "-qam", "moved on")
    git(other, "push", "-q", "origin", "main")
    code, _, err = pin(mono)
    assert code == 1
    assert err.strip() == ("error: main is 1 commit(s) behind origin/main: update it "
                           "(git pull --ff-only), then run again")
    assert git(addon, "tag") == ""
    assert git(addon, "branch", "--list", "release/*") == ""


def test_a_missing_addon_checkout_is_one_line(tmp_path: Path) -> None:
    mono = copy_example(tmp_path / "monorepo")
    load_record(mono, "core", "0.4.3").set("verifications", {"pypi": {"ok": True}})
    code, _, err = pin(mono)
    assert code == 1
    assert err.strip() == (f"error: train ha-addon: its repository {tmp_path}/skyline-addon "
                           "does not exist: clone it there (repository = ... in the release "
                           "config)")
    assert invoke("status", "--repo", str(mono)).returncode == 0  # the rest does not need it


def test_pull_request_mode_pushes_the_branch_and_opens_one(
        repos: tuple[Path, Path], github: FakeGitHub) -> None:
    mono, addon = repos
    env = {"GITHUB_TOKEN": TOKEN, "GH_TOKEN": "", "GITHUB_API_URL": github.url,
           "NO_PROXY": "127.0.0.1,localhost"}
    code, _, err = pin(mono, "--pull-request", **{**env, "GITHUB_TOKEN": ""})
    assert code == 1 and err.startswith("error: no GitHub token")
    assert git(addon, "branch", "--list", "release/*") == ""  # refused before any write
    url = "https://github.com/example/skyline-addon/pull/7"
    github.answer("POST", "/repos/example/skyline-addon/pulls", 201, {"html_url": url})
    code, out, err = pin(mono, "--pull-request", **env)
    assert code == 0, err
    assert TOKEN not in out + err
    assert f"opened pull request {url}" in out
    origin = addon.parent / "skyline-addon-origin.git"
    head = git(addon, "rev-parse", "release/ha-addon-v2.0.2")
    assert git(origin, "rev-parse", "release/ha-addon-v2.0.2") == head
    assert git(origin, "rev-parse", f"{TAG}^{{commit}}") == head
    assert git(origin, "rev-parse", "main") != head  # main moves when the pull request merges
    (request,) = github.seen
    assert (request.method, request.path) == ("POST", "/repos/example/skyline-addon/pulls")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.body["head"] == "release/ha-addon-v2.0.2"
    assert request.body["base"] == "main"
    assert request.body["title"] == "chore(release): ha-addon 2.0.2 (pins core 0.4.3)"
    data = json.loads((mono / ".release/core-0.4.3.json").read_text())
    assert data["downstreams"]["ha-addon"]["pull-request"] == url
    assert TOKEN not in json.dumps(data)
    code, out, err = pin(mono, "--pull-request", **env)  # done: nothing sent again
    assert code == 0, err
    assert len(github.seen) == 1
