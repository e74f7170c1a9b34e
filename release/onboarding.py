"""`release-train init`: inspect a repository and write a starting release configuration.

The plan is computed from what the repository already says: every `pyproject.toml` that is a
package (not under tests, examples, fixtures, templates, docs or vendored code; uv workspace
members always count), where each keeps its version (`release.sources`, the same discovery a
bump uses), the versions they share (packages at one version form one train), the tag style
the repository's own tags use, and the lines the audit finds carrying a train's version (they
become occurrences). The configuration is then written as short as it can be: one glob per
directory whose packages all belong to the train.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from release import repo as git
from release.config import DEFAULT_TAG_FORMAT, Config, Occurrence, Package, Train, load
from release.errors import ConfigError, ReleaseError
from release.versions import sources
from release.versions.agreement import problems, train_version
from release.versions.audit import audit, read_texts
from release.versions.scan import repo_files, scan
from release.versions.spots import parse_toml, read, table
from release.versions.suggest import GLOB_MIN, search_starts, suggest
from release.workflows import NOXFILE

# Directories whose pyproject.toml files are not packages of the repository's release.
SKIP_DIRS = frozenset({
    "tests", "test", "testing", "fixtures", "testdata", "test_data", "examples", "example",
    "docs", "doc", "templates", "template", "_template", "benchmarks", "bench",
    "_vendor", "vendor", "vendored", "third_party", "node_modules", "site-packages",
})
TASKS = ('from release.cli import namespace as ns  # release-train\'s invoke tasks '
         '(invoke --list)\n')
TAG_SHAPES = ("v{version}", "{version}")


class InitError(ReleaseError):
    """`init` cannot write a configuration (one exists, or nothing to release was found)."""


@dataclass(frozen=True)
class Found:
    """A package init found: its directory, name and version (None: the version is a tag)."""

    path: Path  # relative to the root; Path(".") for the root package
    name: str
    version: str | None
    source: str
    requires: tuple[str, ...] = ()  # names of other packages of the repository it requires


@dataclass
class Proposal:
    """What init decided, and why (one line per decision)."""

    root: Path
    file: Path  # where the configuration goes
    tag_format: str | None  # top level (one train)
    trains: dict[str, Train] = field(default_factory=dict)
    patterns: dict[str, list[str]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def in_pyproject(self) -> bool:
        return self.file.name == "pyproject.toml"

    def config(self) -> Config:
        """The proposal as a Config object (not read from disk), for scan, check and audit."""
        return Config(root=self.root, source=self.file, trains=dict(self.trains),
                      tag_format=self.tag_format or DEFAULT_TAG_FORMAT)


# --- finding packages ------------------------------------------------------------------------

def _workspace(root: Path, texts: dict[Path, str]) -> tuple[list[str], list[str]]:
    """uv workspace member and exclude globs of the root pyproject ([], [] without one)."""
    rel = Path("pyproject.toml")
    if not (root / rel).is_file():
        return [], []
    data = parse_toml(rel, read(root, rel, texts))
    ws = table(table(table(data.get("tool")).get("uv")).get("workspace"))
    members, exclude = ws.get("members", []), ws.get("exclude", [])
    return ([str(m) for m in members] if isinstance(members, list) else [],
            [str(e) for e in exclude] if isinstance(exclude, list) else [])


def _skipped_dir(rel: Path) -> str | None:
    """Why a package directory is not part of the release (None: it is)."""
    for part in rel.parts:
        if part.startswith("."):
            return f"{part}/ is hidden"
        if part.lower() in SKIP_DIRS:
            return f"{part}/ holds no released packages"
    return None


def _name_of(data: dict[str, Any]) -> str | None:
    name = table(data.get("project")).get("name") or \
        table(table(data.get("tool")).get("poetry")).get("name")
    return name if isinstance(name, str) and name else None


def _requirements(data: dict[str, Any]) -> list[str]:
    project = table(data.get("project"))
    lists = [project.get("dependencies", [])]
    lists += list(table(project.get("optional-dependencies")).values())
    lists += list(table(data.get("dependency-groups")).values())
    names: list[str] = []
    for reqs in lists:
        for raw in reqs if isinstance(reqs, list) else []:
            if isinstance(raw, str):
                try:
                    names.append(canonicalize_name(Requirement(raw).name))
                except InvalidRequirement:
                    continue
    return names


def find_packages(root: Path, skipped: list[str]) -> list[Found]:
    """Every package of the repository and where its version lives; what was left out goes
    to `skipped` with the reason."""
    texts: dict[Path, str] = {}
    members, ws_exclude = _workspace(root, texts)
    candidates = sorted(p.parent for p in repo_files(root) if p.name == "pyproject.toml")
    datas: dict[Path, dict[str, Any]] = {}
    for rel in candidates:
        posix = rel.as_posix() if rel != Path(".") else "."
        member = any(fnmatch.fnmatchcase(posix, m) for m in members)
        if any(fnmatch.fnmatchcase(posix, e) for e in ws_exclude):
            skipped.append(f"{posix}: excluded from the uv workspace")
            continue
        why = None if member else _skipped_dir(rel)
        if why:
            skipped.append(f"{posix}: {why}")
            continue
        try:
            data = parse_toml(rel / "pyproject.toml", read(root, rel / "pyproject.toml", texts))
        except ConfigError as exc:
            skipped.append(str(exc))
            continue
        if _name_of(data) is None:
            if rel != Path("."):
                skipped.append(f"{posix}: no [project] name (not a package)")
            continue
        datas[rel] = data
    names = {canonicalize_name(n) for d in datas.values() if (n := _name_of(d))}
    found: list[Found] = []
    first: dict[str, Path] = {}
    for rel, data in datas.items():
        name = _name_of(data) or ""
        if canonicalize_name(name) in first:  # a copy (layer/ and layer_v3/): one is enough
            skipped.append(f"{rel.as_posix()}: {name} again (first in "
                           f"{first[canonicalize_name(name)].as_posix()})")
            continue
        first[canonicalize_name(name)] = rel
        project = sources.Project(root, rel, name, "init", data, texts)
        try:
            where = sources.find(project)
        except ConfigError as exc:
            skipped.append(f"{rel.as_posix()}: {exc}")
            continue
        requires = tuple(sorted({n for n in _requirements(data) if n in names}
                                - {canonicalize_name(name)}))
        if where.tag_driven:
            found.append(Found(rel, name, None, where.source, requires))
            continue
        own = [s for s in where.spots if s.kind == "version" and not s.template]
        if not own:
            skipped.append(f"{rel.as_posix()}: {name} has no version")
            continue
        found.append(Found(rel, name, own[0].written, where.source, requires))
    return found


# --- trains ----------------------------------------------------------------------------------

def _version_key(found: Found) -> str:
    if found.version is None:
        return "tag"
    try:
        return str(Version(found.version))
    except InvalidVersion:
        return found.version


def _common_words(names: Sequence[str]) -> str:
    """The leading words every name shares (`skyline-ext-ai`, `skyline-ext-vision` ->
    `skyline-ext`)."""
    split = [re.split(r"[-_.]+", n.lower()) for n in names]
    common: list[str] = []
    for words in zip(*split, strict=False):
        if len(set(words)) != 1:
            break
        common.append(words[0])
    return "-".join(common)


def _train_name(group: Sequence[Found], taken: set[str]) -> str:
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
        prefix = _shared_prefix([m.name for m in members])
        if len(members) >= 2 and len(prefix) >= 2:
            tries.append(f"{base}{_glob_safe(prefix)}*")
        for pattern in tries:
            if _glob_dirs(root, pattern) == wanted:
                patterns.append(pattern)
                break
        else:
            patterns += sorted(m.as_posix() for m in members)
    return patterns


def _shared_prefix(names: Sequence[str]) -> str:
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


def _tag_format(train: str, group: Sequence[Found], styles: Counter[str], alone: bool,
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


def _bare_owner(groups: Mapping[str, Sequence[Found]], root: Path) -> str | None:
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
                version = Version(_version_key(group[0]))
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


# --- the proposal ----------------------------------------------------------------------------

def propose(root: Path, file_name: str = "pyproject.toml") -> Proposal:
    """Inspect the repository: packages, trains, tag formats, occurrences, excludes."""
    root = root.resolve()
    if not root.is_dir():
        raise InitError(f"{root}: no such directory")
    skipped: list[str] = []
    packages = find_packages(root, skipped)
    if not packages:
        details = f" ({'; '.join(skipped[:3])})" if skipped else ""
        raise InitError(f"{root}: no package with a version found{details}")
    by_version: dict[str, list[Found]] = defaultdict(list)
    for found in packages:
        by_version[_version_key(found)].append(found)
    taken: set[str] = set()
    groups = {_train_name(group, taken): group for group in by_version.values()}
    styles = tag_styles(root)
    owner = _bare_owner(groups, root) if len(groups) > 1 else next(iter(groups))
    proposal = Proposal(root, root / file_name, None, skipped=skipped)
    claimed: set[str] = set()
    for name, group in groups.items():
        fmt, why_tag = _tag_format(name, group, styles, name == owner, claimed)
        patterns = package_patterns(root, [f.path for f in group])
        proposal.patterns[name] = patterns
        pkgs = tuple(Package(f.name, f.path) for f in group)
        proposal.trains[name] = Train(name, "python", pkgs, fmt)
        version = group[0].version or "the git tag"
        why = (f"{len(group)} packages at {version}" if len(group) > 1
               else f"{group[0].name} at {version}")
        sources_used = ", ".join(sorted({f.source for f in group}))
        pins = sorted({r for f in group for r in f.requires
                       if r not in {canonicalize_name(g.name) for g in group}})
        pinned = f"; requires {', '.join(pins)} of other trains" if pins else ""
        proposal.reasons.append(f"train {name}: {why} ({sources_used}): "
                                f"{', '.join(patterns)}; tag {fmt} ({why_tag}){pinned}")
    if len(groups) == 1:
        only = next(iter(proposal.trains.values()))
        proposal.tag_format = only.tag_format
    _add_excludes(proposal)
    _add_occurrences(proposal)
    return proposal


def _replace(proposal: Proposal, name: str, **changes: Any) -> None:
    t = proposal.trains[name]
    values = {"name": t.name, "kind": t.kind, "packages": t.packages, "tag_format": t.tag_format,
              "occurrences": t.occurrences, "pins": t.pins, "exclude": t.exclude, **changes}
    proposal.trains[name] = Train(**values)


def _add_excludes(proposal: Proposal) -> None:
    """A discovered spot that disagrees with its train (a stale fallback `__version__`) is
    left alone by an `exclude` entry, so check passes from the start."""
    config = proposal.config()
    found = scan(config)
    by_file: dict[str, set[str]] = defaultdict(set)
    for spot in found.spots:
        if spot.kind != "version" or not spot.discovered:
            continue
        written = train_version(found, config.trains[spot.train])
        try:
            same = Version(spot.written) == written.version
        except InvalidVersion:
            same = False
        if not same:
            by_file[spot.train].add(spot.path.as_posix())
            proposal.reasons.append(f"exclude {spot.path.as_posix()} from {spot.train}: "
                                    f"its {spot.what} is {spot.written!r}, not {written}")
    for name, paths in by_file.items():
        _replace(proposal, name, exclude=tuple(sorted(paths)))


_ASSIGNMENT = re.compile(r"version[\W_]{0,6}\{version\}", re.IGNORECASE)


def _names_train(search: str, train: Train) -> bool:
    """Does a suggested search name the train or one of its packages (`skyline-ext-ai==`,
    `ghcr.io/example/skyline:`), or assign a version (`__version__ = "`)? Others (a pin of a
    third-party package that happens to share the version) are left to the user."""
    def norm(text: str) -> str:
        return re.sub(r"[-_.]+", "-", text.lower())

    names = {norm(train.name)} | {norm(p.name) for p in train.packages}
    written = norm(search)
    return bool(_ASSIGNMENT.search(search)) or any(len(n) >= 3 and n in written for n in names)


def _merge_same_file(entries: list[Occurrence], texts: Mapping[Path, str],
                     allowed: Mapping[Path, set[int]]) -> list[Occurrence]:
    """Three or more searches in one file (`pkg-a=={version}`, `pkg-b=={version}`, ...)
    become one, their common context (`=={version}`), when that finds versions only where
    the current one stands and every place the separate ones did."""
    by_path: dict[Path, list[Occurrence]] = defaultdict(list)
    for occ in entries:
        by_path[occ.path].append(occ)
    result: list[Occurrence] = []
    for path, occs in by_path.items():
        text = texts.get(path)
        if len(occs) < GLOB_MIN or text is None or any(o.is_glob for o in occs):
            result += occs
            continue
        befores = [o.search.split("{version}", 1)[0] for o in occs]
        afters = [o.search.split("{version}", 1)[1] for o in occs]
        before = _shared_prefix([b[::-1] for b in befores])[::-1]
        after = _shared_prefix(afters)
        wanted: set[int] = set()
        for b, a in zip(befores, afters, strict=True):
            wanted |= search_starts(b, a, text)
        starts = search_starts(before, after, text) if before.strip() else set()
        if starts and wanted <= starts <= allowed.get(path, set()):
            result.append(Occurrence(path, before + "{version}" + after))
        else:
            result += occs
    return result


def _add_occurrences(proposal: Proposal) -> None:
    """The audit's suggestions become occurrences: lines that carry a train's version, which
    a bump would otherwise leave behind (only those that name the train's packages)."""
    config = proposal.config()
    if git.toplevel(config.root) is None:
        return
    found = scan(config)
    texts = read_texts(config.root, git.tracked_files(config.root) or [])
    findings = audit(config, found, texts)
    if not findings:
        return
    added: dict[str, list[Occurrence]] = defaultdict(list)
    left: list[str] = []
    for entry in suggest(findings, texts):
        train = proposal.trains[entry.train]
        if entry.note or not _names_train(entry.search, train):
            left.append(f"{entry.path} ({entry.search!r})")
            continue
        added[entry.train].append(Occurrence(Path(entry.path), entry.search))
    for name, occs in added.items():
        allowed: dict[Path, set[int]] = defaultdict(set)
        for f in findings:
            if f.train == name:
                allowed[f.path] |= {f.offset + start for start, _ in f.spans}
        occs = _merge_same_file(occs, texts, allowed)
        _replace(proposal, name, occurrences=proposal.trains[name].occurrences + tuple(occs))
        shown = ", ".join(dict.fromkeys(o.path.as_posix() for o in occs))
        proposal.reasons.append(f"train {name}: {len(occs)} occurrence(s) the audit found "
                                f"carrying its version ({shown}): review them")
    if left:
        proposal.reasons.append(f"left out {len(left)} line(s) carrying a version that name "
                                f"no package of the train ({'; '.join(left[:4])}"
                                f"{'; ...' if len(left) > 4 else ''}): `check --audit` lists "
                                "them; add what a bump should move")


# --- writing ---------------------------------------------------------------------------------

def _s(text: str) -> str:
    return tomlkit.string(text).as_string()


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _s(name)


def _array(items: Iterable[str]) -> str:
    return "[" + ", ".join(_s(i) for i in items) + "]"


def render(proposal: Proposal) -> str:
    """The configuration as TOML: `[tool.release]` tables, or release.toml's top level."""
    prefix = "tool.release." if proposal.in_pyproject else ""
    lines: list[str] = []
    if proposal.tag_format is not None:  # [tool.release] only when it holds a key
        lines += ["[tool.release]"] if proposal.in_pyproject else []
        lines.append(f"tag-format = {_s(proposal.tag_format)}")
    for name, train in proposal.trains.items():
        if lines:
            lines.append("")
        lines.append(f"[{prefix}trains.{_key(name)}]")
        lines.append(f"packages = {_array(proposal.patterns[name])}")
        if proposal.tag_format is None and train.tag_format != DEFAULT_TAG_FORMAT:
            lines.append(f"tag-format = {_s(train.tag_format)}")
        if train.exclude:
            lines.append(f"exclude = {_array(train.exclude)}")
        if train.occurrences:
            lines.append("occurrences = [")
            lines += [f"  {{ path = {_s(o.path.as_posix())}, search = {_s(o.search)} }},"
                      for o in train.occurrences]
            lines.append("]")
    return "\n".join(lines) + "\n"


def _existing(root: Path) -> list[str]:
    found = []
    if (root / "release.toml").is_file():
        found.append("release.toml")
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return found
        if "release" in table(data.get("tool")):
            found.append("[tool.release] in pyproject.toml")
    return found


def _without_release_table(text: str) -> str:
    """pyproject.toml's text without its [tool.release...] tables (tomlkit: the rest as is)."""
    doc = tomlkit.parse(text)
    tool = doc.get("tool")
    if tool is not None and "release" in tool:
        del tool["release"]
        if not tool:
            del doc["tool"]
    return tomlkit.dumps(doc)


def write(proposal: Proposal, *, force: bool) -> list[str]:
    """Write the configuration (and tasks.py/noxfile.py when absent); what was written."""
    root = proposal.root
    existing = _existing(root)
    if existing and not force:
        raise InitError(f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}"
                        ": pass --force to replace the release configuration")
    text = render(proposal)
    written = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.release] in pyproject.toml" in existing:
        pyproject.write_text(_without_release_table(pyproject.read_text(encoding="utf-8")),
                             encoding="utf-8")
    if proposal.in_pyproject:
        before = pyproject.read_text(encoding="utf-8")
        joined = before.rstrip("\n") + "\n\n" + text if before.strip() else text
        try:
            tomllib.loads(joined)
        except tomllib.TOMLDecodeError as exc:
            raise InitError(f"pyproject.toml: [tool.release] cannot be appended ({exc}): "
                            "use --file release.toml") from None
        pyproject.write_text(joined, encoding="utf-8")
        written.append("pyproject.toml ([tool.release])")
    else:
        (root / "release.toml").unlink(missing_ok=True)
        proposal.file.write_text(text, encoding="utf-8")
        written.append(proposal.file.name)
    for name, body in (("tasks.py", TASKS), ("noxfile.py", NOXFILE)):
        path = root / name
        if path.exists():
            hint = ("from release.cli import namespace as ns" if name == "tasks.py"
                    else "from release.noxsessions import *")
            written.append(f"(kept your {name}: add `{hint}` to use release-train's "
                           f"{'tasks' if name == 'tasks.py' else 'sessions'} from it)")
            continue
        path.write_text(body, encoding="utf-8")
        written.append(name)
    return written


def run_init(root: Path, file: str | None = None, dry_run: bool = False,
             force: bool = False) -> str:
    """`release-train init`: propose, explain, write; then check what was written."""
    root = root.resolve()
    name = file or ("pyproject.toml" if (root / "pyproject.toml").is_file() else "release.toml")
    if name not in ("pyproject.toml", "release.toml"):
        raise InitError(f"--file {name}: the configuration goes in pyproject.toml or "
                        "release.toml")
    existing = _existing(root)
    if existing and not force:
        raise InitError(f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}"
                        ": pass --force to replace the release configuration")
    proposal = propose(root, name)
    if dry_run:
        return render(proposal).rstrip("\n")
    lines = [f"found {sum(len(t.packages) for t in proposal.trains.values())} package(s) in "
             f"{len(proposal.trains)} train(s)"]
    lines += proposal.reasons
    if proposal.skipped:
        lines.append(f"not released ({len(proposal.skipped)}): " + "; ".join(
            proposal.skipped[:6]) + ("; ..." if len(proposal.skipped) > 6 else ""))
    lines += [f"wrote {w}" if not w.startswith("(") else w for w in write(proposal, force=force)]
    config = load(root)
    listed = problems(config)
    if listed:
        lines.append(f"check: {len(listed)} disagreement(s), first: {listed[0]}")
    else:
        lines.append("check: ok; next: invoke check --audit, invoke status, "
                     "then commit the configuration")
    return "\n".join(lines)
