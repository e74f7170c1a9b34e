"""`invoke github-release` against a stand-in for the GitHub REST API on 127.0.0.1.

The stand-in (tests/helpers/github.py, the `github` fixture) is the only mocked part: the
notes, the git remote, the token handling and the HTTP client are the real ones. Nothing
reaches the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from release.announce.github import parse_remote
from tests.helpers.commands import invoke
from tests.helpers.github import TOKEN, FakeGitHub
from tests.helpers.repos import copy_example, git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The example with core 0.4.2 tagged and an origin on GitHub (never contacted)."""
    path = copy_example(tmp_path / "monorepo")
    git(path, "tag", "-a", "v0.4.2", "-m", "core 0.4.2")
    git(path, "remote", "add", "origin", "git@github.com:example/skyline.git")
    return path


def run(repo: Path, fake: FakeGitHub, *args: str, **env: str) -> Any:
    settings = {"GITHUB_TOKEN": TOKEN, "GH_TOKEN": "", "GITHUB_REPOSITORY": "",
                "GITHUB_API_URL": fake.url, "NO_PROXY": "127.0.0.1,localhost",
                "SOURCE_DATE_EPOCH": "1714521600", **env}
    out = invoke("github-release", "--repo", str(repo), *args, **settings)
    token = settings["GITHUB_TOKEN"] or settings["GH_TOKEN"]
    if token:
        assert token not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    return out


def test_creates_the_release_with_the_notes(repo: Path, github: FakeGitHub) -> None:
    base = "/repos/example/skyline"
    github.answer("GET", f"{base}/git/ref/tags/v0.4.2", 200, {"ref": "refs/tags/v0.4.2"})
    github.answer("POST", f"{base}/releases", 201,
                  {"html_url": "https://github.com/example/skyline/releases/tag/v0.4.2"})
    out = run(repo, github, "--train", "core")
    assert out.returncode == 0, out.stderr
    notes = repo / ".release" / "notes" / "core-0.4.2.md"
    assert out.stdout.splitlines() == [
        "published GitHub release v0.4.2 of example/skyline: "
        "https://github.com/example/skyline/releases/tag/v0.4.2",
        f"wrote {notes}"]
    assert git(repo, "status", "--porcelain") == ""  # written into the ignored .release/
    get, post = github.seen
    assert (get.method, get.path) == ("GET", f"{base}/git/ref/tags/v0.4.2")
    assert (post.method, post.path) == ("POST", f"{base}/releases")
    assert post.headers["Authorization"] == f"Bearer {TOKEN}"
    assert post.headers["Accept"] == "application/vnd.github+json"
    assert post.body == {"tag_name": "v0.4.2", "name": "core 0.4.2", "prerelease": False,
                         "draft": False, "body": notes.read_text()}
    assert post.body["body"].startswith("# core 0.4.2 (2024-05-01)")


def test_pre_release_edited_notes_gh_token_and_github_repository(
        repo: Path, github: FakeGitHub) -> None:
    git(repo, "tag", "-a", "v0.5.0rc1", "-m", "core 0.5.0rc1")
    notes = repo / "release-notes" / "core-0.5.0rc1.md"
    notes.parent.mkdir()
    notes.write_text("# core 0.5.0rc1\n\nEdited by hand.\n")
    base = "/repos/acme/other"
    github.answer("GET", f"{base}/git/ref/tags/v0.5.0rc1", 200, {})
    github.answer("POST", f"{base}/releases", 201, {"html_url": "https://x/rc1"})
    out = run(repo, github, "--train", "core", "--version", "0.5.0rc1",
              GITHUB_TOKEN="", GH_TOKEN=TOKEN, GITHUB_REPOSITORY="acme/other")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "published GitHub pre-release v0.5.0rc1 of acme/other: " \
                                 "https://x/rc1"
    post = github.seen[-1]
    assert post.headers["Authorization"] == f"Bearer {TOKEN}"
    assert post.body["prerelease"] is True
    assert post.body["body"] == "# core 0.5.0rc1\n\nEdited by hand.\n"  # the file as it is


def test_an_existing_release_is_reported(repo: Path, github: FakeGitHub) -> None:
    base = "/repos/example/skyline"
    github.answer("GET", f"{base}/git/ref/tags/v0.4.2", 200, {})
    github.answer("POST", f"{base}/releases", 422, {
        "message": "Validation Failed",
        "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]})
    github.answer("GET", f"{base}/releases/tags/v0.4.2", 200,
                  {"html_url": "https://github.com/example/skyline/releases/tag/v0.4.2"})
    out = run(repo, github, "--train", "core")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == (
        "GitHub release v0.4.2 of example/skyline already exists: "
        "https://github.com/example/skyline/releases/tag/v0.4.2; nothing changed "
        "(edit it on GitHub to change its notes)")


def test_refusals_are_one_line(repo: Path, github: FakeGitHub) -> None:
    no_token = run(repo, github, "--train", "core", GITHUB_TOKEN="", GH_TOKEN="")
    assert no_token.returncode == 1
    assert no_token.stderr.strip() == ("error: no GitHub token: set GITHUB_TOKEN (or GH_TOKEN) "
                                       "to a token that may create releases (contents: write)")
    assert github.seen == []

    missing_tag = run(repo, github, "--train", "core")  # the stand-in has no such tag: 404
    assert missing_tag.returncode == 1
    assert missing_tag.stderr.strip() == ("error: tag v0.4.2 is not on GitHub "
                                          "(example/skyline): push it first (invoke push), "
                                          "then publish its release")
    assert [s.method for s in github.seen] == ["GET"]  # nothing was created

    base = "/repos/example/skyline"
    github.answer("GET", f"{base}/git/ref/tags/v0.4.2", 200, {})
    github.answer("POST", f"{base}/releases", 401, {"message": f"Bad credentials {TOKEN}"})
    refused = run(repo, github, "--train", "core")
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("error: creating the release for v0.4.2: GitHub answered "
                                      "HTTP 401 (Bad credentials ***): check the token in "
                                      "GITHUB_TOKEN or GH_TOKEN")

    git(repo, "remote", "set-url", "origin", str(repo.parent / "origin.git"))
    local = run(repo, github, "--train", "core")
    assert local.returncode == 1
    assert "is not a GitHub URL: set GITHUB_REPOSITORY=owner/repo" in local.stderr


@pytest.mark.parametrize(("url", "expected"), [
    ("git@github.com:example/skyline.git", ("example", "skyline")),
    ("https://github.com/example/skyline", ("example", "skyline")),
    ("https://x-access-token:abc@github.com/example/skyline.git", ("example", "skyline")),
    ("ssh://git@github.example.com:2222/team/tool.git", ("team", "tool")),
    ("/srv/git/skyline.git", None),
    ("file:///srv/git/example/skyline.git", None),
])
def test_parse_remote(url: str, expected: tuple[str, str] | None) -> None:
    assert parse_remote(url) == expected


def test_the_token_never_goes_to_a_plain_http_api_off_loopback(tmp_path: Path) -> None:
    from release.errors import ConfigError
    from release.publish.endpoints import require_secure

    with pytest.raises(ConfigError, match="must use https"):
        require_secure("http://github.example.com/api/v3", "GITHUB_API_URL")
    require_secure("http://127.0.0.1:8080", "GITHUB_API_URL")
    require_secure("https://api.github.com", "GITHUB_API_URL")
