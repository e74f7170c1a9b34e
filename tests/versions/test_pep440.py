"""The version model: SemVer parts written as PEP 440, in the style the repository uses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from release.errors import VersionError
from release.repo import tag_name, tag_pattern
from release.versions.pep440 import PARTS, bump, format_version, parse


@pytest.mark.parametrize(
    ("current", "part", "expected"),
    [
        ("0.4.2", "major", "1.0.0"),
        ("0.4.2", "minor", "0.5.0"),
        ("0.4.2", "patch", "0.4.3"),
        ("2.0.0rc1", "major", "2.0.0"),  # finishes the pre-release it was heading to
        ("0.5.0.dev3", "minor", "0.5.0"),
        ("0.5.1.dev1", "minor", "0.6.0"),
        ("1.0.0", "rc", "1.0.1rc1"),
        ("1.1.0.dev3", "rc", "1.1.0rc1"),
        ("1.0a2", "beta", "1.0b1"),
        ("1.0b1", "beta", "1.0b2"),
        ("1.0-rc.1", "pre", "1.0-rc.2"),  # separators kept
        ("1.0rc1.dev3", "pre", "1.0rc1"),
        ("1.0.0", "post", "1.0.0.post1"),
        ("1.0.post1", "post", "1.0.post2"),
        ("1.0.post1.dev2", "post", "1.0.post1"),
        ("1.2.0", "dev", "1.2.1.dev1"),
        ("0.66b0.dev", "dev", "0.66b0.dev1"),  # implicit dev number: not 0.66b0.dev0 style
        ("1.0rc1", "release", "1.0"),
        ("0.66", "patch", "0.66.1"),
        ("0.66", "minor", "0.67"),
        ("v1.2.3", "patch", "v1.2.4"),
        ("1.0alpha2", "alpha", "1.0alpha3"),
        ("1.0RC1", "rc", "1.0RC2"),
        ("1!1.0", "minor", "1!1.1"),
    ],
)
def test_bump_parts(current: str, part: str, expected: str) -> None:
    assert bump(parse(current), part).text == expected


@pytest.mark.parametrize(
    ("current", "part", "message"),
    [
        ("1.0rc1", "alpha", "already past alpha"),
        ("1.0.0", "release", "already a final"),
        ("1.0rc1", "post", "not a final release"),
        ("1.0.0", "pre", "not a pre-release"),
        ("1.0.post1", "rc", "post release"),
        ("1.0", "bogus", "unknown part"),
    ],
)
def test_bump_refuses_parts_that_make_no_sense(current: str, part: str, message: str) -> None:
    with pytest.raises(VersionError, match=message):
        bump(parse(current), part)


def test_to_must_be_greater_and_valid() -> None:
    with pytest.raises(VersionError, match="not greater"):
        bump(parse("1.0"), to="1.0.0")
    with pytest.raises(VersionError, match="not a valid PEP 440"):
        bump(parse("1.0"), to="one.two")
    assert bump(parse("1.0"), to="2.0rc1").text == "2.0rc1"


def test_parse_refuses_garbage() -> None:
    for text in ["", "1.0.", "x1.0", "1..0", "1.0+", "latest"]:
        with pytest.raises(VersionError):
            parse(text)


def test_tags() -> None:
    assert tag_name("{train}-v{version}", "core", "1.2.0") == "core-v1.2.0"
    m = tag_pattern("{train}-v{version}", "core").match("core-v1.2.0rc1")
    assert m and m["version"] == "1.2.0rc1"
    assert tag_pattern("v{version}", "core").match("ext-v1.0") is None


# --- properties ------------------------------------------------------------------------------

sep = st.sampled_from(["", ".", "-", "_"])
num = st.integers(min_value=0, max_value=30).map(str)


@st.composite
def written_versions(draw: st.DrawFn) -> str:
    """Every written form PEP 440 allows (bar leading zeros and local labels with caps)."""
    text = draw(st.sampled_from(["", "v"]))
    if draw(st.booleans()):
        text += draw(st.integers(1, 3).map(str)) + "!"
    text += ".".join(draw(st.lists(num, min_size=1, max_size=4)))
    if draw(st.booleans()):
        text += draw(sep) + draw(st.sampled_from(["a", "alpha", "b", "beta", "rc", "c", "pre",
                                                  "preview", "RC"]))
        text += draw(st.one_of(st.just(""), st.tuples(sep, num).map("".join)))
    if draw(st.booleans()):
        if draw(st.booleans()):
            text += "-" + draw(num)
        else:
            text += draw(sep) + draw(st.sampled_from(["post", "rev", "r"]))
            text += draw(st.one_of(st.just(""), st.tuples(sep, num).map("".join)))
    if draw(st.booleans()):
        text += draw(sep) + "dev" + draw(st.one_of(st.just(""), st.tuples(sep, num).map("".join)))
    if draw(st.booleans()):
        label = st.text("abcz019", min_size=1, max_size=3)
        text += "+" + draw(label) + "".join(draw(st.lists(st.tuples(sep.filter(bool), label)
                                                          .map("".join), max_size=2)))
    return text


@settings(max_examples=300)
@given(written_versions())
def test_parse_format_round_trips_the_written_style(text: str) -> None:
    written = parse(text)
    assert written.version == Version(text)
    assert format_version(written.version, written.style) == text


@settings(max_examples=300)
@given(written_versions(), st.sampled_from(PARTS))
def test_every_bump_is_valid_and_greater(text: str, part: str) -> None:
    current = parse(text)
    try:
        new = bump(current, part)
    except VersionError as exc:
        assert str(exc)  # a refusal is a message, never a crash
        return
    assert Version(new.text) == new.version  # valid PEP 440, written as it parses
    assert new.version > current.version
    assert parse(new.text).version == new.version
