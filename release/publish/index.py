"""What a package index shows: files, hashes and versions, read from its simple API.

Visibility is decided from the simple API (PEP 691 JSON, PEP 503 HTML as a fallback) because that
is what installers read; a project's JSON API (PyPI's `/pypi/...`, devpi's own) can lag it or not
exist at all, so it is only an extra that callers may consult.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from release.errors import IndexServerError, VersionError
from release.publish.timeouts import policy, request
from release.redaction import public_url, redact

JSON_SIMPLE = "application/vnd.pypi.simple.v1+json"
HTML_SIMPLE = "application/vnd.pypi.simple.v1+html"
# PEP 691's recommended negotiation: JSON first, HTML (new then legacy name) as fallbacks.
ACCEPT_ANY = f"{JSON_SIMPLE}, {HTML_SIMPLE};q=0.2, text/html;q=0.01"
ACCEPT_HTML = "text/html"
RETRY_STATUSES = (500, 502, 503, 504)
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")

JsonStyle = Literal["pypi", "devpi"]


@dataclass(frozen=True)
class IndexFile:
    """One distribution file as the index lists it."""

    filename: str
    url: str
    """Absolute download URL, without the `#sha256=` fragment."""
    sha256: str | None
    version: str | None
    """Parsed from the filename (wheel or sdist); None when the name follows neither form."""
    yanked: bool


class IndexClient:
    """Read one index's simple API (and optionally its JSON API) with bounded retries.

    `json_api` is where the per-release JSON lives, in one of two styles:

    - PyPI: the base before `/<name>/<version>/json`, e.g. `https://pypi.org/pypi`;
    - devpi: the index URL, e.g. `http://127.0.0.1:3141/user/index`, read as
      `<index>/<name>/<version>` with `Accept: application/json`.

    `json_style` says which; left out, it is devpi when `simple_url` is `<json_api>/+simple/`
    (how devpi lays out an index) and PyPI otherwise. `prefer_json=False` asks only for PEP 503
    HTML, for indexes (or tests) where the JSON simple API must not be used.
    """

    def __init__(
        self,
        simple_url: str,
        json_api: str | None = None,
        *,
        json_style: JsonStyle | None = None,
        timeout: float | None = None,
        retries: int = 3,
        backoff: float = 0.25,
        prefer_json: bool = True,
        name: str = "",
    ) -> None:
        self.simple_url = simple_url.rstrip("/") + "/"
        self.json_api = json_api.rstrip("/") if json_api else None
        if json_style is None and self.json_api is not None:
            json_style = "devpi" if self.simple_url == f"{self.json_api}/+simple/" else "pypi"
        self.json_style = json_style
        self.timeout = timeout if timeout is not None else policy().read
        self.name = name or public_url(self.simple_url)
        self.retries = retries
        self.prefer_json = prefer_json
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "release-train"
        # Only idempotent reads are retried: on connection errors and on the 5xx answers a CDN
        # or a restarting server gives; the count is bounded so an outage fails in seconds.
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            backoff_factor=backoff,
            backoff_max=5.0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)  # pages read at once
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    # -- simple API -------------------------------------------------------------------------

    def files(self, project: str) -> list[IndexFile]:
        """Every file the index lists for the project; [] when it does not know the project."""
        url = f"{self.simple_url}{canonicalize_name(project)}/"
        # pip asks the same way: we poll for files just uploaded, so caches must revalidate.
        headers = {"Accept": ACCEPT_ANY if self.prefer_json else ACCEPT_HTML,
                   "Cache-Control": "max-age=0"}
        response = self._get(url, headers, "reading the simple page")
        if response is None:
            return []
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type == JSON_SIMPLE:
            return _files_from_json(response, url)
        return _files_from_html(response.text, response.url or url)

    def has_version(self, project: str, version: str) -> bool:
        """Whether any file of that version is listed (yanked or not: its name is burnt).

        Versions compare as PEP 440 says, so `1.0` and `1.0.0` are the same release.
        """
        try:
            wanted = Version(version)
        except InvalidVersion as exc:
            raise VersionError(f"{version!r} is not a valid PEP 440 version") from exc
        return any(f.version is not None and Version(f.version) == wanted
                   for f in self.files(project))

    def download_sha256(self, file: IndexFile) -> str:
        """The sha256 of a listed file's bytes (for listings that give no hash)."""
        response = self._get(file.url, {"Accept": "*/*"}, "downloading")
        if response is None:
            raise IndexServerError(redact(f"{file.url} is listed but cannot be downloaded"))
        return hashlib.sha256(response.content).hexdigest()

    def find_file(self, project: str, filename: str) -> IndexFile | None:
        """The index's entry for one file name, or None when it does not list it."""
        return next((f for f in self.files(project) if f.filename == filename), None)

    # -- JSON API ---------------------------------------------------------------------------

    def json_release(self, project: str, version: str) -> dict[str, Any] | None:
        """The index's JSON for one release, or None (no JSON API, or release unknown).

        PyPI style returns the whole `/pypi/<name>/<version>/json` document; devpi style
        returns the `result` of devpi's version view (metadata plus `+links` with hashes).
        """
        if self.json_api is None:
            return None
        name = canonicalize_name(project)
        if self.json_style == "devpi":
            url = f"{self.json_api}/{name}/{version}"
        else:
            url = f"{self.json_api}/{name}/{version}/json"
        response = self._get(url, {"Accept": "application/json", "Cache-Control": "max-age=0"},
                             "reading the JSON API")
        if response is None:
            return None
        document: Any = _json(response, url)
        if self.json_style == "devpi":
            document = document.get("result")
        if not isinstance(document, dict):
            raise IndexServerError(redact(f"{url} answered JSON without release data"))
        return document

    # -- plumbing ---------------------------------------------------------------------------

    def _get(self, url: str, headers: Mapping[str, str], operation: str = "reading"
             ) -> requests.Response | None:
        """GET with retries; None for 404/410, IndexServerError (one line) for anything else."""
        what = f"{operation} {public_url(url)}"
        try:
            response = request(self.session, "GET", url, where=f"index {self.name}",
                               operation=what, rules=policy(read=self.timeout),
                               headers=headers)
        except requests.RequestException as exc:
            raise IndexServerError(redact(
                f"cannot reach the index at {url}: {_reason(exc, self.timeout)}"
                f" (gave up after {_attempts(self.retries + 1)})")) from None
        if response.status_code in (404, 410):
            return None
        if not response.ok:
            hint = " (check the credentials)" if response.status_code in (401, 403) else ""
            raise IndexServerError(redact(
                f"the index at {url} answered HTTP {response.status_code}"
                f" {response.reason}{hint}"))
        return response

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _reason(exc: requests.RequestException, timeout: float) -> str:
    """A short human reason for a failed request, instead of urllib3's nested repr."""
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc):  # retried: wrapped
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake or certificate verification failed"
    found = _ERRNO.search(str(exc))
    if found:
        return found.group(1).strip().lower()
    return type(exc).__name__


def _json(response: requests.Response, url: str) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        raise IndexServerError(redact(f"{url} answered invalid JSON")) from None
    if not isinstance(document, dict):
        raise IndexServerError(redact(f"{url} answered unexpected JSON"))
    return document


def _files_from_json(response: requests.Response, url: str) -> list[IndexFile]:
    """PEP 691: {"meta": {"api-version": "1.x"}, "files": [{filename, url, hashes, yanked}]}."""
    document = _json(response, url)
    api_version = str(document.get("meta", {}).get("api-version", "1.0"))
    if api_version.split(".")[0] != "1":
        raise IndexServerError(redact(f"{url} speaks simple API {api_version}; we read 1.x"))
    entries = document.get("files")
    if not isinstance(entries, list):
        raise IndexServerError(redact(f"{url} answered a simple page without files"))
    base = response.url or url
    files = []
    for entry in entries:
        if not isinstance(entry, dict) or "filename" not in entry or "url" not in entry:
            continue
        hashes = entry.get("hashes") or {}
        digest = hashes.get("sha256") if isinstance(hashes, dict) else None
        yanked = entry.get("yanked", False)
        files.append(_index_file(
            filename=str(entry["filename"]),
            url=urljoin(base, str(entry["url"])),
            sha256=digest.lower() if isinstance(digest, str) and digest else None,
            # PEP 691: a bool, or a non-empty string giving the reason (which means yanked).
            yanked=bool(yanked) if not isinstance(yanked, str) else True,
        ))
    return files


class _AnchorParser(HTMLParser):
    """Collect <a> elements (attributes and text) and an optional <base href>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._current, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


def _files_from_html(text: str, url: str) -> list[IndexFile]:
    """PEP 503: one anchor per file, `#sha256=` in the href, `data-yanked` when yanked."""
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    base = urljoin(url, parser.base) if parser.base else url
    files = []
    for attrs, anchor_text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        absolute = urljoin(base, href)
        fragment = urldefrag(absolute).fragment
        algorithm, _, digest = fragment.partition("=")
        filename = anchor_text or unquote(urlsplit(absolute).path.rsplit("/", 1)[-1])
        files.append(_index_file(
            filename=filename,
            url=absolute,
            sha256=digest.lower() if algorithm == "sha256" and digest else None,
            yanked="data-yanked" in attrs,
        ))
    return files


def _index_file(*, filename: str, url: str, sha256: str | None, yanked: bool) -> IndexFile:
    return IndexFile(filename=filename, url=urldefrag(url).url, sha256=sha256,
                     version=_version_of(filename), yanked=yanked)


def _version_of(filename: str) -> str | None:
    """The version in a wheel or sdist name, per packaging; None for other or odd names."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        if filename.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"
