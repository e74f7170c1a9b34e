"""Publish a release's notes as a GitHub release, through the REST API.

The token comes from GITHUB_TOKEN or GH_TOKEN only (never argv, never printed), the API base
from GITHUB_API_URL (GitHub Enterprise, or a test server) and the repository from
GITHUB_REPOSITORY or the `origin` remote. The release is only created for a tag GitHub already
has: asked to release a missing tag, GitHub would create it on the default branch, and release
tags are made by `invoke tag` on the release commit, never elsewhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from release import repo as git
from release.errors import ReleaseError
from release.publish.endpoints import require_secure
from release.redaction import redact, register

DEFAULT_API = "https://api.github.com"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")  # git@github.com:o/r.git


class GitHubError(ReleaseError):
    """GitHub refused, or we cannot tell which repository or token to use."""


@dataclass(frozen=True)
class Published:
    """What happened: created, or already there (nothing changed)."""

    created: bool
    url: str
    tag: str
    upload_url: str = ""  # where a release's assets go (uploads.github.com)


@contextmanager
def _answers(api: str) -> Iterator[None]:
    """A connection failure or an answer that is not JSON, as one line naming the API."""
    try:
        yield
    except requests.RequestException as exc:
        raise GitHubError(redact(f"cannot reach the GitHub API at {api}: "
                                 f"{type(exc).__name__}")) from None
    except ValueError:
        raise GitHubError(f"the GitHub API at {api} answered something that is not "
                          "JSON") from None


def token(environ: Mapping[str, str] | None = None) -> str:
    """The API token, from the environment only."""
    env = os.environ if environ is None else environ
    for name in TOKEN_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            register(value)
            return value
    raise GitHubError("no GitHub token: set GITHUB_TOKEN (or GH_TOKEN) to a token that may "
                      "create releases (contents: write)")


def parse_remote(url: str) -> tuple[str, str] | None:
    """(owner, repo) from a remote URL: https, ssh:// or scp-like; None for local paths."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file" or not parts.hostname:
            return None
        path = parts.path
    else:
        m = _SCP.match(url)
        if m is None:
            return None
        path = m["path"]
    pieces = [p for p in path.strip("/").split("/") if p]
    if len(pieces) < 2:
        return None
    owner, name = pieces[-2], pieces[-1].removesuffix(".git")
    return (owner, name) if owner and name else None


def repository(root: Path, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """owner/repo from GITHUB_REPOSITORY, else from the origin remote."""
    env = os.environ if environ is None else environ
    named = env.get("GITHUB_REPOSITORY", "").strip()
    if named:
        owner, _, name = named.partition("/")
        if not owner or not name or "/" in name:
            raise GitHubError(f"GITHUB_REPOSITORY={named!r} is not owner/repo")
        return owner, name
    proc = git.run_git(root, "remote", "get-url", "origin")
    if proc.returncode != 0:
        raise GitHubError("cannot tell the GitHub repository: set GITHUB_REPOSITORY=owner/repo "
                          "or add an origin remote on GitHub")
    found = parse_remote(proc.stdout)
    if found is None:
        raise GitHubError(redact(f"origin ({proc.stdout.strip()}) is not a GitHub URL: set "
                                 "GITHUB_REPOSITORY=owner/repo"))
    return found


def _session(secret: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({
        "Authorization": f"Bearer {secret}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "release-train",
    })
    # Only failures to connect are retried: the request never left, so a POST cannot repeat.
    retry = Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.25,
                  raise_on_status=False)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _message(response: requests.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason or ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _html_url(response: requests.Response) -> str:
    body: Any = response.json()
    return str(body.get("html_url", "")) if isinstance(body, dict) else ""


def _upload_url(response: requests.Response) -> str:
    body: Any = response.json() if response.ok else {}
    return str(body.get("upload_url", "")).split("{")[0] if isinstance(body, dict) else ""


def _already_exists(response: requests.Response) -> bool:
    try:
        body: Any = response.json()
    except ValueError:
        return False
    errors = body.get("errors", []) if isinstance(body, dict) else []
    return any(isinstance(e, dict) and e.get("code") == "already_exists" for e in errors)


def _fail(what: str, response: requests.Response, slug: str) -> GitHubError:
    status = response.status_code
    said = _message(response)
    hint = {401: ": check the token in GITHUB_TOKEN or GH_TOKEN",
            403: ": the token needs contents: write on the repository",
            404: f": is {slug} right, and can the token see it?"}.get(status, "")
    return GitHubError(redact(f"{what}: GitHub answered HTTP {status}"
                              f"{' (' + said + ')' if said else ''}{hint}"))


def publish(api: str, owner: str, name: str, secret: str, *, tag: str, title: str, body: str,
            prerelease: bool, timeout: float = 30.0) -> Published:
    """Create the release for an existing tag; an existing release is reported, not changed."""
    base = _repo_url(api, owner, name)
    slug = f"{owner}/{name}"
    with _session(secret) as session, _answers(api):
        ref = session.get(f"{base}/git/ref/tags/{quote(tag, safe='')}", timeout=timeout)
        if ref.status_code == 404:
            raise GitHubError(f"tag {tag} is not on GitHub ({slug}): push it first "
                              "(invoke push), then publish its release")
        if not ref.ok:
            raise _fail(f"looking up tag {tag}", ref, slug)
        response = session.post(f"{base}/releases", timeout=timeout, json={
            "tag_name": tag, "name": title, "body": body, "prerelease": prerelease,
            "draft": False})
        if response.status_code == 422 and _already_exists(response):
            existing = session.get(f"{base}/releases/tags/{quote(tag, safe='')}",
                                   timeout=timeout)
            return Published(False, _html_url(existing) if existing.ok else "", tag,
                             _upload_url(existing))
        if response.status_code != 201:
            raise _fail(f"creating the release for {tag}", response, slug)
        return Published(True, _html_url(response), tag, _upload_url(response))


def describe_request(api: str, owner: str, name: str, *, tag: str, title: str, body: str,
                     prerelease: bool, path: Path | None) -> str:
    """What `publish` would send, as people read it (the token is never part of it)."""
    import json

    base = f"{api.rstrip('/')}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
    payload = {"tag_name": tag, "name": title, "body": body, "prerelease": prerelease,
               "draft": False}
    has_token = any(os.environ.get(n, "").strip() for n in TOKEN_VARIABLES)
    return "\n".join([
        f"would GET {base}/git/ref/tags/{quote(tag, safe='')} (the tag must be on GitHub)",
        f"would POST {base}/releases",
        "  Authorization: Bearer <" + ("GITHUB_TOKEN/GH_TOKEN, set" if has_token
                                       else "GITHUB_TOKEN or GH_TOKEN: not set, needed") + ">",
        *(f"  {line}" for line in json.dumps(payload, indent=2).splitlines()),
        f"notes from {path}" if path else "notes rendered now; once the release exists they "
        "would be written to .release/notes/",
        "dry run: nothing sent, nothing written"])


def api_base() -> str:
    """GITHUB_API_URL (GitHub Enterprise, a test server) or api.github.com; https only off
    loopback."""
    api = os.environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API
    require_secure(api, "GITHUB_API_URL")
    return api


def _repo_url(api: str, owner: str, name: str) -> str:
    return f"{api.rstrip('/')}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def open_pull_request(api: str, owner: str, name: str, secret: str, *, head: str, base: str,
                      title: str, body: str, timeout: float = 30.0) -> Published:
    """Open a pull request of branch head into base; an open one for head is reported."""
    url = _repo_url(api, owner, name)
    slug = f"{owner}/{name}"
    with _session(secret) as session, _answers(api):
        response = session.post(f"{url}/pulls", timeout=timeout, json={
            "title": title, "head": head, "base": base, "body": body})
        if response.status_code == 201:
            return Published(True, _html_url(response), head)
        if response.status_code != 422:
            raise _fail(f"opening a pull request of {head} into {base}", response, slug)
        existing = session.get(f"{url}/pulls", timeout=timeout, params={
            "head": f"{owner}:{head}", "base": base, "state": "open"})
        found: Any = existing.json() if existing.ok else []
        if isinstance(found, list) and found and isinstance(found[0], dict):
            return Published(False, str(found[0].get("html_url", "")), head)
        raise _fail(f"opening a pull request of {head} into {base}", response, slug)


# --- GitHub Actions: the run a tag push started ---------------------------------------------

@dataclass(frozen=True)
class Run:
    id: int
    url: str
    status: str  # queued, in_progress, completed
    conclusion: str | None  # success, failure, cancelled... once completed


def _run_of(body: Any) -> Run:
    return Run(int(body["id"]), str(body.get("html_url", "")), str(body.get("status", "")),
               body.get("conclusion"))


class Actions:
    """The Actions API of one repository: find the run a tag push started, follow it to
    its end, download its logs, put files on a release."""

    def __init__(self, api: str, owner: str, name: str, secret: str,
                 timeout: float = 30.0) -> None:
        self.api, self.slug, self.timeout = api, f"{owner}/{name}", timeout
        self.base = _repo_url(api, owner, name)
        self.session = _session(secret)

    def __enter__(self) -> Actions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def _get(self, url: str, what: str, **params: str) -> requests.Response:
        try:
            response = self.session.get(url, params=params or None, timeout=self.timeout)
        except requests.RequestException as exc:
            raise GitHubError(redact(f"cannot reach the GitHub API at {self.api}: "
                                     f"{type(exc).__name__}")) from None
        if not response.ok:
            raise _fail(what, response, self.slug)
        return response

    def find_run(self, workflow: str, sha: str) -> Run | None:
        """The newest run of the workflow file that a push of commit sha started."""
        response = self._get(f"{self.base}/actions/workflows/{quote(workflow, safe='')}/runs",
                             f"listing the runs of {workflow}", event="push", head_sha=sha)
        try:
            runs = [r for r in response.json().get("workflow_runs", [])
                    if isinstance(r, dict) and r.get("head_sha") == sha]
            return _run_of(runs[0]) if runs else None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise GitHubError(f"the GitHub API at {self.api} answered an unreadable list of "
                              "workflow runs") from None

    def run(self, run_id: int) -> Run:
        try:
            return _run_of(self._get(f"{self.base}/actions/runs/{run_id}",
                                     f"reading run {run_id}").json())
        except (ValueError, KeyError, TypeError):
            raise GitHubError(f"the GitHub API at {self.api} answered an unreadable run "
                              f"{run_id}") from None

    def logs(self, run_id: int, to: Path) -> Path:
        """The run's logs (a zip; GitHub redirects to storage, which gets no token)."""
        response = self._get(f"{self.base}/actions/runs/{run_id}/logs",
                             f"downloading the logs of run {run_id}")
        to.write_bytes(response.content)
        return to

    def upload_asset(self, upload_url: str, path: Path) -> bool:
        """Attach a file to a release; False when a file of that name is there already."""
        try:
            response = self.session.post(upload_url, params={"name": path.name},
                                         data=path.read_bytes(), timeout=max(self.timeout, 300),
                                         headers={"Content-Type": "application/octet-stream"})
        except requests.RequestException as exc:
            raise GitHubError(redact(f"cannot upload {path.name} to GitHub: "
                                     f"{type(exc).__name__}")) from None
        if response.status_code == 422 and _already_exists(response):
            return False
        if response.status_code != 201:
            raise _fail(f"uploading {path.name} to the release", response, self.slug)
        return True
