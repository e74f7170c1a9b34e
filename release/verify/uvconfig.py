"""How install-back talks to uv about indexes: an ordered index list in a config file written
per run (uv takes a per-index cache setting only there), our own packages always asked again,
the third-party index fresh for ten minutes, one shared uv cache, and the environment uv runs
in."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

import tomlkit

from release.proc import scrubbed_env
from release.redaction import public_url, register


def index_config(indexes: Sequence[str], find_links: Sequence[str] = ()) -> str:
    """The uv.toml that says where packages come from, in priority order: uv's first-index
    strategy takes a name only from the first index that has it, so a later (fallback) index
    can never supply one of the target's names; the last index is uv's default (the lowest
    priority). `find_links`: project pages whose files join that name's candidates (another
    train's exact release the first index lacks). An index URL carrying user:password is
    written as a named index without them (uv reads its credentials from the environment:
    index_env). The last index, where third-party dependencies come from, also gets PyPI's
    freshness for its simple pages (see FALLBACK_FRESHNESS) unless it is the target itself or
    carries credentials: the target and the indexes between (production, for other trains'
    releases) keep their own answers, and our names are asked again anyway (refresh_args).

    A file, not command-line options: uv takes an index's `cache-control` from configuration
    only, and ignores configured indexes once `--index` is given."""
    document = tomlkit.document()
    document.add(tomlkit.comment("written by release-train (release/verify/installs.py)"))
    document["index-strategy"] = "first-index"
    if find_links:
        document["find-links"] = [_named(url)[1] for url in find_links]
    entries = tomlkit.aot()
    for at, url in enumerate(indexes):
        name, public = _named(url)
        entry = tomlkit.table()
        if name:
            entry["name"] = name
        if at == len(indexes) - 1:
            entry["default"] = True
            if at and not name and url != indexes[0]:
                # uv 0.13 applies `cache-control` to an index written without the trailing
                # slash only (with it the setting is silently ignored).
                public = public.rstrip("/")
                control = tomlkit.inline_table()
                control["api"] = FALLBACK_FRESHNESS
                entry["cache-control"] = control
        entry["url"] = public
        entries.append(entry)
    document["index"] = entries
    return tomlkit.dumps(document)


@contextmanager
def uv_indexes(indexes: Sequence[str], find_links: Sequence[str] = ()) -> Iterator[list[str]]:
    """uv's options for index_config: `--config-file` of it, written for this one run (its
    URLs carry no credentials) and removed after."""
    fd, name = tempfile.mkstemp(prefix="release-train-uv-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(index_config(indexes, find_links))
        yield ["--config-file", name]
    finally:
        Path(name).unlink(missing_ok=True)


def index_env() -> dict[str, str]:
    """clean_env() plus the credentials of the indexes index_config named: for uv alone."""
    return {**clean_env(), **_INDEX_CREDENTIALS}


def _named(url: str) -> tuple[str, str]:
    """("", url), or when it carries user:password, a name and the URL without them (uv reads
    a named index's credentials from UV_INDEX_<NAME>_USERNAME/_PASSWORD)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return "", url
    name = "rt" + hashlib.sha256(public_url(url).encode()).hexdigest()[:10]
    _INDEX_CREDENTIALS[f"UV_INDEX_{name.upper()}_USERNAME"] = unquote(parts.username or "")
    _INDEX_CREDENTIALS[f"UV_INDEX_{name.upper()}_PASSWORD"] = unquote(parts.password or "")
    register(unquote(parts.password or ""))
    return name, public_url(url)


# How long the third-party index's simple pages count as fresh: PyPI's own answer for them
# (warehouse's simple views send Cache-Control: max-age=600). Where a mirror or proxy drops
# that header, uv asked again for every third-party page in every uv process (over 40 pages
# for release-train's own dependencies, once per Python and resolution, each stage); a
# third-party page at most 10 minutes old is what uv and pip show every PyPI user.
FALLBACK_FRESHNESS = "max-age=600"


def refresh_args(names: Iterable[str]) -> list[str]:
    """Ask the index again for our names only: the release was just uploaded and a cache may
    hold an older answer, while third-party files (immutable) come from the cache."""
    return [arg for name in dict.fromkeys(names) for arg in ("--refresh-package", name)]


def shared_cache() -> Path:
    """One uv cache for every install-back and resolution, kept between runs beside the build
    environments (release-train's cache: $RELEASE_TRAIN_CACHE_DIR, else the XDG cache): the
    third-party dependencies are downloaded once, not once per Python and run. Safe to share:
    uv locks it, keys files by index URL and hash, our own names are asked for again, and
    install-back proves every installed file of ours against the built wheel anyway."""
    from release.build.environments import default_cache_dir

    return default_cache_dir() / "uv"


def clean_env() -> dict[str, str]:
    """The environment for uv, pip and the code under test: scrubbed (proc.scrubbed_env), never
    asking for input, and finding interpreters only where `interpreters.find` looks."""
    return scrubbed_env(isolated=True, PIP_NO_INPUT="1", UV_PYTHON_DOWNLOADS="never",
                        UV_PYTHON_PREFERENCE="only-system")


# Credentials of the indexes in uv's configuration, for clean_env(): the environment of a
# process is readable by its user only, a file or a command line by more.
_INDEX_CREDENTIALS: dict[str, str] = {}
