"""Hypothesis for the fuzz tests: the profile (a few derandomized examples per property in the
suite, many under `nox -s fuzz`: HYPOTHESIS_PROFILE=deep), versions in every spelling PEP 440
accepts, paths and TOML values of every kind, and a scratch directory per example."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomlkit
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from release.versions.pep440 import PARTS

# How many examples each property gets: few in the suite, many in `nox -s fuzz`.
EXAMPLES = {"default": 150, "deep": 3000}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
for _name, _count in EXAMPLES.items():
    settings.register_profile(
        f"release-{_name}", max_examples=_count, deadline=None,
        # CI sees the same examples every run; the deep run explores.
        derandomize=_name == "default",
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture])
fuzz = settings.get_profile(f"release-{PROFILE if PROFILE in EXAMPLES else 'default'}")


def _cased(words: list[str]) -> st.SearchStrategy[str]:
    """A spelling in any letter case (PEP 440 is case-insensitive)."""
    return st.tuples(st.sampled_from(words), st.randoms(use_true_random=False)).map(
        lambda pair: "".join(c.upper() if pair[1].random() < 0.3 else c for c in pair[0]))


SEP = st.sampled_from(["", ".", "-", "_"])
NUMBER = st.one_of(st.integers(0, 30).map(str), st.integers(0, 10**9).map(str),
                   st.from_regex(r"0[0-9]{1,2}", fullmatch=True))  # leading zeros too


@st.composite
def _numbered(draw: st.DrawFn, words: list[str], implicit_ok: bool = True) -> str:
    """`<sep><word>[<sep2><n>]`: the number may be implicit (`1.0a` is `1.0a0`)."""
    text = draw(SEP) + draw(_cased(words))
    if implicit_ok and draw(st.booleans()):
        return text
    return text + draw(SEP) + draw(NUMBER)


@st.composite
def version_texts(draw: st.DrawFn, padded: bool = True) -> str:
    """Any valid PEP 440 version, written in any of the spellings PEP 440 accepts (with
    surrounding whitespace too, unless `padded` is false)."""
    text = draw(st.sampled_from(["", "", "v", "V"]))
    if draw(st.integers(0, 5)) == 0:
        text += draw(NUMBER) + "!"
    text += ".".join(draw(st.lists(NUMBER, min_size=1, max_size=5)))
    if draw(st.booleans()):
        text += draw(_numbered(["a", "alpha", "b", "beta", "c", "rc", "pre", "preview"]))
    post = draw(st.integers(0, 3))
    if post == 1:
        text += "-" + draw(NUMBER)  # the implicit post release: 1.0-1
    elif post == 2:
        text += draw(_numbered(["post", "rev", "r"]))
    if draw(st.booleans()):
        text += draw(_numbered(["dev"]))
    if draw(st.integers(0, 4)) == 0:
        segments = draw(st.lists(st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True),
                                 min_size=1, max_size=3))
        text += "+" + "".join(s + draw(st.sampled_from([".", "-", "_"])) for s in segments[:-1])
        text += segments[-1]
    if padded and draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from([" ", "\t", "\n"])) + text + draw(st.sampled_from(["", " "]))
    return text


PART = st.sampled_from(PARTS)

PATHS = st.one_of(
    st.sampled_from([
        "pkgs/*", "pkgs/a", "pkgs/b", "pkgs/c", "pkgs/d", "pkgs/e", "pkgs/a/", "./pkgs/a",
        "pkgs/*/", "*/*", "*", "**", "**/*", ".", "", "..", "../outside", "/etc", "/",
        "pkgs/../../outside", "link", "link/", "escape/pkg", "escape/*", "e*/*", "[", "pkgs/[ab]",
        "pkgs/a\x00", "docs/install.md", "docs/secret.txt", "docs", "addon/config.yaml",
        "bin.dat", "ü/ñ", "a" * 300, "pkgs//a", "~/x", "pkgs/a/pyproject.toml"]),
    st.text(max_size=12))
TOML_LEAVES: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=10), st.integers(-(2**63), 2**63 - 1), st.booleans(),
    st.floats(allow_nan=False), st.dates(), st.datetimes(), PATHS)
TOML_VALUES: st.SearchStrategy[Any] = st.recursive(
    TOML_LEAVES,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3),
    max_leaves=8)


def dump_toml(document: dict[str, Any]) -> str | None:
    try:
        return tomlkit.dumps(document)
    except Exception:  # noqa: BLE001 - a value TOML cannot hold: not an input anyone can write
        return None


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A directory of our own per example (hypothesis reuses function-scoped fixtures)."""
    path = Path(tempfile.mkdtemp(prefix="rt-fuzz-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


