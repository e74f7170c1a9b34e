"""How `init` groups packages into trains and names them: packages at one version form one
train, named for the root package or the words their names share; the shortest `packages`
globs that match exactly its directories; and the tag format the repository's own tags use."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from release import repo as git
from release.config import DEFAULT_TAG_FORMAT
from release.onboarding.packages import Found

TAG_SHAPES = ("v{version}", "{version}")


def version_key(found: Found) -> str:
    if found.version is None:
        return "tag"
    try:
        return str(Version(found.version))
    except InvalidVersion:
        return found.version


def _common_words(names: Sequence[str]) -> str:
    """The leading words every name shares (`skyline-ext-ai`, `skyline-ext-vision` ->
    `skyline-ext`)."""
    split = [canonicalize_name(n).split("-") for n in names]
    common: list[str] = []
    for words in zip(*split, strict=False):
        if len(set(words)) != 1:
            break
        common.append(words[0])
    return "-".join(common)


def train_name(group: Sequence[Found], taken: set[str]) -> str:
    """One package: its name. Several: the root package's, else the words their names share,
    else their common directory."""
    roots = [f for f in group if f.path == Path(".")]
    if len(group) == 1 or roots:
        base = (roots or list(group))[0].name
    else:
        base = _common_words([f.name for f in group])
        if not base:
            parents = {f.path.parent for f in group}
            base = parents.pop().name if len(parents) == 1 and parents != {Path(".")} else ""
        base = base or "train"
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-").lower() or "train"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _glob_dirs(root: Path, pattern: str) -> set[Path]:
    """What config.load makes of a packages glob: directories holding a pyproject.toml."""
    return {p.relative_to(root) for p in root.glob(pattern) if (p / "pyproject.toml").is_file()}


def package_patterns(root: Path, dirs: Sequence[Path]) -> list[str]:
    """The shortest `packages = [...]` that matches exactly these directories: `parent/*`
    when every package directory there is one of them, else `parent/prefix*`, else each."""
    patterns: list[str] = []
    by_parent: dict[Path, list[Path]] = defaultdict(list)
    for d in dirs:
        if d == Path("."):
            patterns.append(".")
        else:
            by_parent[d.parent].append(d)
    for parent, members in sorted(by_parent.items()):
        wanted = set(members)
        base = "" if parent == Path(".") else parent.as_posix() + "/"
        tries = [] if not base or len(members) < 2 else [f"{base}*"]
        prefix = shared_prefix([m.name for m in members])
        if len(members) >= 2 and len(prefix) >= 2:
            tries.append(f"{base}{_glob_safe(prefix)}*")
        for pattern in tries:
            if _glob_dirs(root, pattern) == wanted:
                patterns.append(pattern)
                break
        else:
            patterns += sorted(m.as_posix() for m in members)
    return patterns


def shared_prefix(names: Sequence[str]) -> str:
    first, last = min(names), max(names)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _glob_safe(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


# --- tags ------------------------------------------------------------------------------------

_TAG = re.compile(r"^(?P<prefix>.*?)(?P<version>[0-9]+(?:\.[0-9]+)*[0-9A-Za-z.+!-]*)$")


def tag_styles(root: Path) -> Counter[str]:
    """How many of the repository's tags each tag format reads (`v{version}`: 120)."""
    styles: Counter[str] = Counter()
    if git.toplevel(root) is None:
        return styles
    for name in git.git(root, "tag", "--list", what="git tag --list").splitlines():
        m = _TAG.match(name.strip())
        if not m:
            continue
        try:
            Version(m["version"])
        except InvalidVersion:
            continue
        prefix = m["prefix"].replace("{", "{{").replace("}", "}}")
        styles[prefix + "{version}"] += 1
    return styles


def tag_format_for(train: str, group: Sequence[Found], styles: Counter[str], alone: bool,
                claimed: set[str]) -> tuple[str, str]:
    """The train's tag format and why: its own prefixed tags, else (one train, or the bare
    style not yet taken) the repository's `v{version}`/`{version}` tags, else the default."""
    own = [train] + [f.name for f in group]
    for prefix in own:
        for sep in ("-v", "-", "@", "==", "/v", "/"):
            shape = f"{prefix}{sep}{{version}}"
            if styles[shape]:
                fmt = shape.replace(train, "{train}", 1) if prefix == train else shape
                return fmt, f"{styles[shape]} tag(s) like {shape.format(version='X.Y.Z')}"
    bare = [(styles[s], s) for s in TAG_SHAPES if styles[s]]
    if bare and alone:
        count, shape = max(bare)
        claimed.add(shape)
        return shape, f"{count} tag(s) like {shape.format(version='X.Y.Z')}"
    if alone:
        return "v{version}", "no release tags yet: v{version}, the common style"
    return DEFAULT_TAG_FORMAT, ("no tags of its own yet: the default "
                                f"{DEFAULT_TAG_FORMAT.format(train=train, version='X.Y.Z')}")


def bare_owner(groups: Mapping[str, Sequence[Found]], root: Path) -> str | None:
    """Of several trains, the one the repository's bare/v tags belong to: the one with the
    lowest version not below the nearest such tag (the line those tags release), else the
    train holding the root package."""
    nearest: Version | None = None
    if git.toplevel(root) is not None:
        for shape in TAG_SHAPES:
            last = git.last_tag(root, shape, "")
            if last and (nearest is None or last[0] > nearest):
                nearest = last[0]
    if nearest is not None:
        above = []
        for name, group in groups.items():
            try:
                version = Version(version_key(group[0]))
            except InvalidVersion:
                continue
            if version >= nearest or version.release[:2] == nearest.release[:2]:
                above.append((version, name))
        if above:
            return min(above)[1]
    for name, group in groups.items():
        if any(f.path == Path(".") for f in group):
            return name
    return None
