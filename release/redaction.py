"""Keep credentials out of output, logs, exceptions and records."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

# Environment variables whose values are credentials. Any value registered with
# `register` is treated the same way (e.g. a generated devpi password).
SECRET_VARIABLES = (
    "TESTPYPI_TOKEN",
    "PYPI_TOKEN",
    "TWINE_PASSWORD",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "RELEASE_INDEX_PASSWORD",
)
_registered: set[str] = set()
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<cred>[^/@\s]+)@")
MASK = "***"


def register(value: str | None) -> None:
    """Remember a secret that does not live in a well-known variable."""
    if value and len(value) >= 4:
        _registered.add(value)


def _known_secrets() -> list[str]:
    values = {os.environ.get(name, "") for name in SECRET_VARIABLES} | _registered
    # Longest first so that a secret containing another is masked whole.
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def without_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """environ minus every credential: the known secret variables, twine's, and any variable
    whose value holds a known secret (a token, a URL with a password in it). For every child
    that does not need them (devpi-server, git, builds, installs)."""
    secrets = _known_secrets()
    return {k: v for k, v in environ.items()
            if k not in SECRET_VARIABLES and not k.startswith("TWINE_")
            and not _URL_CREDENTIALS.search(v) and not any(s in v for s in secrets)}


def redact(text: str) -> str:
    """Mask every known secret and every credential embedded in a URL."""
    for secret in _known_secrets():
        text = text.replace(secret, MASK)
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{MASK}@", text)


def public_url(url: str) -> str:
    """url without userinfo (`https://user:token@host/` -> `https://host/`)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
