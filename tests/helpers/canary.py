"""The canary: a token that looks like a PyPI API token, put in every credential variable
while a release runs or fails, and searched for in every output and file afterwards (any
occurrence is a leak); and devpi indexes whose user logs in with it, so that the canary is the
credential that really works."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from pathlib import Path

import requests

from release.pipeline.localindex import PYPI_LIKE, LocalDevpi, LocalIndex
from release.redaction import SECRET_VARIABLES

# Looks like a PyPI API token; unique enough that any occurrence is a leak.
CANARY = "pypi-AgEIcHlwaS5vcmcCanary" + "5e3f1b7d2c9a4e60b8f1" + "TokenDoNotLeak"


def canary_env() -> dict[str, str]:
    """The canary in every variable that holds a credential."""
    return dict.fromkeys(SECRET_VARIABLES, CANARY)


def leaks(texts: Iterable[str] = (), roots: Iterable[Path] = (),
          secret: str = CANARY, skip: Iterable[Path] = ()) -> list[str]:
    """Where `secret` shows up: in which text (by index) and in which file under `roots`."""
    found = [f"text #{i}" for i, text in enumerate(texts) if secret in text]
    needle = secret.encode()
    skipped = {p.resolve() for p in skip}
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and not path.is_symlink() and path.resolve() not in skipped \
                    and needle in path.read_bytes():
                found.append(str(path))
    return found


def canary_index(server: LocalDevpi, name: str, password: str = CANARY) -> LocalIndex:
    """A PyPI-like devpi index whose user logs in with `password` (by default the canary:
    a token the index accepts, so that the canary is the credential that really works)."""
    name = f"{name}-{uuid.uuid4().hex[:8]}"  # unique on a server many tests share
    username = f"{name}-user"
    http = requests.Session()
    http.trust_env = False
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    http.put(f"{server.url}/{username}", json={"password": password,
             "email": f"{username}@localhost"}, headers=headers, timeout=30).raise_for_status()
    login = http.post(f"{server.url}/+login", json={"user": username, "password": password},
                      headers=headers, timeout=30)
    login.raise_for_status()
    auth = base64.b64encode(f"{username}:{login.json()['result']['password']}".encode())
    http.put(f"{server.url}/{username}/{name}", json=PYPI_LIKE, timeout=30,
             headers={**headers, "X-Devpi-Auth": auth.decode()}).raise_for_status()
    return LocalIndex(name, username, password, f"{server.url}/{username}/{name}")


def canary_indexes(server: LocalDevpi) -> dict[str, str]:
    """Fresh testpypi and pypi stand-ins on server (the canary is the token they accept), the
    canary in every credential variable and RELEASE_DEBUG=1: the variables a release gets."""
    values = {**canary_env(), "RELEASE_DEBUG": "1"}
    for name in ("testpypi", "pypi"):
        index = canary_index(server, name)
        prefix = name.upper()
        values.update({f"{prefix}_UPLOAD_URL": index.upload_url,
                       f"{prefix}_SIMPLE_URL": index.simple_url,
                       f"{prefix}_JSON_URL": index.json_api,
                       f"{prefix}_USERNAME": index.username, f"{prefix}_TOKEN": CANARY})
    return values
