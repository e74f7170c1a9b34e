"""Version math on packaging's Version, written back in the style the repository uses.

A repository that writes `0.66b0.dev` must get `0.66b0.dev1` back, not a normalized
`0.66b0.dev1` with other separators, nor `0.66b0.dev0` for an unchanged value: the parts we
parse keep their separators, spelling and implicit numbers (`Style`), and `format` writes a
`Version` with that style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from release.errors import VersionError

PARTS = ("major", "minor", "patch", "pre", "alpha", "beta", "rc", "dev", "post", "release")

# The PEP 440 grammar as people write it, once: the parser below reads a whole version with it
# (each part a named group, to keep its style), and `VERSION_TEXT` (its unnamed form, without
# a local part) finds versions in running text. A separator counts only with a number after
# it (`1.0a.dev` is `1.0a` then `.dev`), so each separator has one place to be kept.
PRE_SPELLINGS = "alpha|a|beta|b|preview|pre|c|rc"
POST_SPELLINGS = "post|rev|r"
DEV_SPELLING = "dev"
_SEP = "[-_.]?"
_NAMED = (
    r"(?P<v>[vV]?)"
    r"(?:(?P<epoch>[0-9]+)!)?"
    r"(?P<release>[0-9]+(?:\.[0-9]+)*)"
    rf"(?:(?P<pre_sep>{_SEP})(?P<pre_l>(?i:{PRE_SPELLINGS}))"
    rf"(?:(?P<pre_sep2>{_SEP})(?P<pre_n>[0-9]+))?)?"
    r"(?:(?P<post_implicit>-(?P<post_n1>[0-9]+))"
    rf"|(?P<post_sep>{_SEP})(?P<post_l>(?i:{POST_SPELLINGS}))"
    rf"(?:(?P<post_sep2>{_SEP})(?P<post_n2>[0-9]+))?)?"
    rf"(?:(?P<dev_sep>{_SEP})(?P<dev_l>(?i:{DEV_SPELLING}))"
    rf"(?:(?P<dev_sep2>{_SEP})(?P<dev_n>[0-9]+))?)?"
)
_LOCAL = r"(?:\+(?P<local>[a-zA-Z0-9]+(?:[-_.][a-zA-Z0-9]+)*))?"
_WRITTEN = re.compile(rf"^\s*{_NAMED}{_LOCAL}\s*$")
# A version as it appears in running text (no local part, so "1.2.0+" is not swallowed). A
# search bounds it (scan.search_regex): `1.2.3-cuda` reads as 1.2.3, `1.2.30` never as 1.2.3.
# An epoch (`1!0.4.2`) and markers in any case (`0.4.2.RC1`) are PEP 440 too: read them whole.
VERSION_TEXT = re.sub(r"\(\?P<\w+>", "(?:", _NAMED)
_PRE_CANON = {"alpha": "a", "a": "a", "beta": "b", "b": "b", "c": "rc", "rc": "rc",
              "pre": "rc", "preview": "rc"}
PRE_NAMES = {"a": "alpha", "b": "beta", "rc": "rc"}  # a pre-release letter, as a part names it
_PRE_KINDS = {name: letter for letter, name in PRE_NAMES.items()}


@dataclass(frozen=True)
class Style:
    """How a version is written: prefix, separators, spellings and implicit numbers."""

    prefix: str = ""
    epoch_text: str = ""  # "0!" or "01!" as written: kept while the epoch is unchanged
    release_text: str = ""  # "01.2" as written, used while the release segment is unchanged
    pre_sep: str = ""
    pre_sep2: str = ""
    pre_letter: str = ""  # canonical letter ("a", "b", "rc") that pre_spelling writes
    pre_spelling: str = ""  # "alpha", "c", "RC", ...
    pre_implicit: bool = False  # "1.0a" stands for "1.0a0"
    post_sep: str = "."
    post_sep2: str = ""
    post_spelling: str = "post"
    post_dash: bool = False  # "1.0-1" stands for "1.0.post1"
    post_implicit: bool = False
    dev_sep: str = "."
    dev_sep2: str = ""
    dev_spelling: str = "dev"
    dev_implicit: bool = False  # "1.0.dev" stands for "1.0.dev0"
    local_text: str = ""
    numbers: tuple[str, str, str] = ("", "", "")  # pre, post, dev numbers as written ("01")


@dataclass(frozen=True)
class Written:
    """A version as it is written in a file: the parsed value, its style and its text."""

    version: Version
    style: Style
    text: str

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> Written:
    """Parse a written version, remembering its style. Raises VersionError when invalid."""
    m = _WRITTEN.match(text)
    try:
        version = Version(text)
    except InvalidVersion:
        version = None
    if version is None:
        raise VersionError(f"{text!r} is not a valid PEP 440 version")
    if m is None:  # valid but odd (a trailing separator): write it normalized from now on
        return Written(version, Style(), text.strip())
    g = m.groupdict()
    style = Style(
        prefix=g["v"] or "",
        epoch_text=g["epoch"] or "",
        release_text=g["release"],
        pre_sep=g["pre_sep"] or "",
        pre_sep2=g["pre_sep2"] or "",
        pre_letter=_PRE_CANON[g["pre_l"].lower()] if g["pre_l"] else "",
        pre_spelling=g["pre_l"] or "",
        pre_implicit=bool(g["pre_l"]) and g["pre_n"] is None,
        post_sep=(g["post_sep"] or "") if g["post_l"] else ".",
        post_sep2=g["post_sep2"] or "",
        post_spelling=g["post_l"] or "post",
        post_dash=bool(g["post_implicit"]),
        post_implicit=bool(g["post_l"]) and g["post_n2"] is None,
        dev_sep=(g["dev_sep"] or "") if g["dev_l"] else ".",
        dev_sep2=g["dev_sep2"] or "",
        dev_spelling=g["dev_l"] or "dev",
        dev_implicit=bool(g["dev_l"]) and g["dev_n"] is None,
        local_text=g["local"] or "",
        numbers=(g["pre_n"] or "", g["post_n1"] or g["post_n2"] or "", g["dev_n"] or ""),
    )
    return Written(version, style, text.strip())


def format_version(version: Version, style: Style = Style()) -> str:
    """Write `version` in `style`; an implicit zero stays implicit where the style had one."""
    out = style.prefix
    if style.epoch_text and int(style.epoch_text) == version.epoch:
        out += f"{style.epoch_text}!"
    elif version.epoch:
        out += f"{version.epoch}!"
    release = ".".join(str(n) for n in version.release)
    same_release = style.release_text and Version(style.release_text).release == version.release
    out += style.release_text if same_release else release
    if version.pre is not None:
        letter, number = version.pre
        same = letter == style.pre_letter
        spelling = style.pre_spelling if same else letter
        num = "" if (same and style.pre_implicit and number == 0) else \
            _number(style.numbers[0] if same else "", number)
        out += f"{style.pre_sep}{spelling}{style.pre_sep2 if num else ''}{num}"
    if version.post is not None:
        if style.post_dash:
            out += f"-{_number(style.numbers[1], version.post)}"
        else:
            num = "" if (style.post_implicit and version.post == 0) else \
                _number(style.numbers[1], version.post)
            out += f"{style.post_sep}{style.post_spelling}{style.post_sep2 if num else ''}{num}"
    if version.dev is not None:
        num = "" if (style.dev_implicit and version.dev == 0) else \
            _number(style.numbers[2], version.dev)
        out += f"{style.dev_sep}{style.dev_spelling}{style.dev_sep2 if num else ''}{num}"
    if version.local:
        same_local = style.local_text and Version(f"0+{style.local_text}").local == version.local
        out += "+" + (style.local_text if same_local else version.local)
    return out


def _number(written: str, value: int) -> str:
    """A number as the repository wrote it ("01") while its value is unchanged."""
    return written if written and int(written) == value else str(value)


def _make(
    release: tuple[int, ...],
    *,
    epoch: int = 0,
    pre: tuple[str, int] | None = None,
    post: int | None = None,
    dev: int | None = None,
) -> Version:
    text = (f"{epoch}!" if epoch else "") + ".".join(map(str, release))
    if pre is not None:
        text += f"{pre[0]}{pre[1]}"
    if post is not None:
        text += f".post{post}"
    if dev is not None:
        text += f".dev{dev}"
    return Version(text)


def _bumped_release(release: tuple[int, ...], index: int) -> tuple[int, ...]:
    """Increment release[index], zero what follows, keep (at least) the written length."""
    parts = list(release) + [0] * max(0, index + 1 - len(release))
    parts[index] += 1
    for i in range(index + 1, len(parts)):
        parts[i] = 0
    return tuple(parts)


def _component(release: tuple[int, ...], index: int) -> int:
    return release[index] if index < len(release) else 0


def next_version(current: Version, part: str) -> Version:
    """The version after `current` for a SemVer part, written as PEP 440.

    major/minor/patch of a pre-release or dev release of exactly that version finish it
    (`2.0.0rc1` --major--> `2.0.0`), as cargo-release does; otherwise they increment.
    """
    if part in ("major", "minor", "patch"):
        return _next_release(current, ("major", "minor", "patch").index(part))
    if part in _PRE_KINDS:
        return _next_pre_kind(current, part)
    step = _STEPS.get(part)
    if step is None:
        raise VersionError(f"unknown part {part!r}; choose one of {', '.join(PARTS)}")
    return step(current)


def _next_release(v: Version, index: int) -> Version:
    """major (0), minor (1) or patch (2): finish a pre/dev release of exactly that version,
    else increment."""
    tail_zero = all(_component(v.release, i) == 0 for i in range(index + 1, 3))
    if v.is_prerelease and tail_zero and v.post is None:
        release = tuple(list(v.release) + [0] * max(0, index + 1 - len(v.release)))
        return _make(release, epoch=v.epoch)
    return _make(_bumped_release(v.release, index), epoch=v.epoch)


def _finished(v: Version) -> Version:
    """--part release: the final a pre-release or dev release leads to."""
    if v.pre is None and v.dev is None:
        raise VersionError(f"{v} is already a final release; use --part patch/minor/major")
    return _make(v.release, epoch=v.epoch, post=v.post)


def _next_post(v: Version) -> Version:
    if v.pre is not None or (v.dev is not None and v.post is None):
        raise VersionError(
            f"{v} is not a final release: a .postN fixes a published final "
            "(use --part release to finish this one)"
        )
    if v.post is not None and v.dev is not None:
        return _make(v.release, epoch=v.epoch, post=v.post)
    return _make(v.release, epoch=v.epoch, post=(v.post or 0) + 1)


def _next_dev(v: Version) -> Version:
    if v.dev is not None:
        return _make(v.release, epoch=v.epoch, pre=v.pre, post=v.post, dev=v.dev + 1)
    if v.post is not None:
        return _make(v.release, epoch=v.epoch, post=v.post + 1, dev=1)
    if v.pre is not None:
        return _make(v.release, epoch=v.epoch, pre=(v.pre[0], v.pre[1] + 1), dev=1)
    return _make(_bumped_release(v.release, 2), epoch=v.epoch, dev=1)


def _next_pre(v: Version) -> Version:
    """--part pre: the next pre-release of the same kind (1.0rc1 -> 1.0rc2)."""
    if v.pre is None:
        raise VersionError(
            f"{v} is not a pre-release; start one with --part alpha, beta or rc"
        )
    if v.dev is not None:  # 1.0rc1.dev3 -> 1.0rc1
        return _make(v.release, epoch=v.epoch, pre=v.pre)
    return _make(v.release, epoch=v.epoch, pre=(v.pre[0], v.pre[1] + 1))


_STEPS = {"release": _finished, "post": _next_post, "dev": _next_dev, "pre": _next_pre}


def _next_pre_kind(v: Version, part: str) -> Version:
    """--part alpha/beta/rc: start that kind of pre-release, or the next one of it."""
    kind = _PRE_KINDS[part]
    order = ["a", "b", "rc"]
    if v.post is not None:
        raise VersionError(f"{v} is a post release; a pre-release comes before a final")
    if v.pre is None:
        if v.dev is not None:  # 1.1.0.dev3 -> 1.1.0rc1: the release it was heading to
            return _make(v.release, epoch=v.epoch, pre=(kind, 1))
        return _make(_bumped_release(v.release, 2), epoch=v.epoch, pre=(kind, 1))
    have = order.index(v.pre[0])
    want = order.index(kind)
    if want < have:
        raise VersionError(f"{v} is already past {part}; use --part {PRE_NAMES[v.pre[0]]}")
    if want > have:
        return _make(v.release, epoch=v.epoch, pre=(kind, 1))
    if v.dev is not None:
        return _make(v.release, epoch=v.epoch, pre=v.pre)
    return _make(v.release, epoch=v.epoch, pre=(kind, v.pre[1] + 1))


def bump(current: Written, part: str | None = None, to: str | None = None) -> Written:
    """The new written version for `--part` or `--to`, in the current style, newer or refused."""
    if (part is None) == (to is None):
        raise VersionError("give exactly one of --part or --to")
    if to is not None:  # written as the user typed it (`8.4.2.dev` stays implicit)
        typed = parse(to)
        if typed.version.local is not None:
            raise VersionError(f"{to} is a local version (+{typed.version.local}): package "
                               "indexes refuse those, and check would reject the tree; release "
                               f"{typed.version.public} instead")
        if typed.version <= current.version:
            raise VersionError(f"new version {typed.version} is not greater than the current "
                               f"{current}")
        text = typed.text if typed.style.prefix or not current.style.prefix else \
            current.style.prefix + typed.text
        return Written(typed.version, typed.style, text)
    else:
        assert part is not None
        target = next_version(current.version, part)
    if target <= current.version:
        raise VersionError(f"new version {target} is not greater than the current {current}")
    return Written(target, current.style, format_version(target, current.style))
