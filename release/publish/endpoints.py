"""Where an index lives and how we log in: config, overridden by environment, never argv.

For an index named `testpypi`: `TESTPYPI_UPLOAD_URL`, `TESTPYPI_SIMPLE_URL` and
`TESTPYPI_JSON_URL` override its URLs (tests and the rehearsal point them at local devpi),
`TESTPYPI_USERNAME` (default `__token__`) and the variable named by `token-env`
(`TESTPYPI_TOKEN`) hold the credentials. A token never appears in output or records.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import Url
from urllib3.util import parse_url as urllib3_parse_url

from release.config import Config
from release.errors import ConfigError, UploadError
from release.publish.index import IndexClient
from release.redaction import public_url, redact, register


@dataclass(frozen=True)
class Endpoint:
    name: str
    upload_url: str
    simple_url: str
    json_api: str | None
    production: bool
    allow_prereleases: bool
    token_env: str

    @property
    def where(self) -> str:
        """The upload URL without credentials: what a record binds a stage to."""
        return public_url(self.upload_url)

    @property
    def where_simple(self) -> str:
        """The simple index URL without credentials."""
        return public_url(self.simple_url)

    def client(self) -> IndexClient:
        return IndexClient(self.simple_url, self.json_api, name=self.name)

    def credentials(self) -> tuple[str, str] | None:
        """(username, password) from the environment; None means trusted publishing in CI."""
        token = os.environ.get(self.token_env, "")
        register(token)
        if token:
            return os.environ.get(f"{self._prefix}_USERNAME", "__token__"), token
        if os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL"):
            return None  # GitHub Actions with id-token: write: twine does trusted publishing
        raise UploadError(f"no credentials for {self.name}: set {self.token_env} (an API token "
                          "for this index) or run in CI with trusted publishing")

    @property
    def _prefix(self) -> str:
        return self.name.upper().replace("-", "_")


def parse_url(url: str, what: str) -> Url:
    """url as the HTTP client will read it (urllib3's parser, the one requests uses), refused
    in one line when another parser would see another host: a backslash, a control
    character or a space (`http://evil\\@127.0.0.1/` connects to `evil`)."""
    if any(c == "\\" or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ConfigError(f"{what}: {redact(url)!r} contains a backslash, a space or a "
                          "control character: write the URL plainly")
    try:
        parsed = urllib3_parse_url(url)
    except LocationParseError:
        raise ConfigError(f"{what}: {public_url(url)!r} is not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise ConfigError(f"{what}: {public_url(url)!r} is not an http(s) URL")
    try:
        other = urlsplit(url).hostname
    except ValueError:
        other = None
    if (parsed.host or "").strip("[]").lower() != (other or "").lower():
        raise ConfigError(f"{what}: {public_url(url)!r} names its host ambiguously (an HTTP "
                          f"client would connect to {parsed.host!r}): write the URL plainly")
    return parsed


def _is_loopback(parsed: Url) -> bool:
    host = (parsed.host or "").strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure(url: str, what: str) -> None:
    """Credentials travel only over https, or plain http on loopback (tests, local indexes);
    the host is the one the HTTP client connects to."""
    parsed = parse_url(url, what)
    if parsed.scheme == "http" and not _is_loopback(parsed):
        raise ConfigError(f"{what}: {url} must use https (plain http is allowed only on "
                          "loopback)")


def endpoint(config: Config, name: str) -> Endpoint:
    """The index `name` with environment overrides applied and its URLs checked."""
    base = config.index(name)
    prefix = name.upper().replace("-", "_")
    upload = os.environ.get(f"{prefix}_UPLOAD_URL", base.upload_url)
    simple = os.environ.get(f"{prefix}_SIMPLE_URL", base.simple_url)
    json_api = os.environ.get(f"{prefix}_JSON_URL") or (
        simple.rstrip("/").removesuffix("/simple") + "/pypi"
        if simple.rstrip("/").endswith("pypi.org/simple") else None)
    for url in (upload, simple):
        require_secure(url, f"index {name}")
    return Endpoint(name, upload, simple, json_api, base.production, base.allow_prereleases,
                    base.token_env)
