"""Release notes as Markdown, from what a release is made of: the pure core of `invoke notes`.

`render` writes the notes of one train's release from the train, the version, the release
record (what was built, where it was verified, on which Pythons and platforms, with which
hashes), change fragments, commit subjects and the tags around it: what a user needs to decide,
install, trust and undo the release. It reads nothing and writes nothing, so the same inputs
always give the same text; `notes` gathers the inputs from the repository.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from release.config import Train
from release.errors import ReleaseError
from release.repo import tag_pattern
from release.versions.pep440 import format_version, next_version, parse

CHANGES_DIR = "changes"
# Fragment types, in the order their sections appear. `breaking` has its own section.
TYPES = {
    "breaking": "Breaking changes",
    "feature": "Features",
    "fix": "Fixes",
    "deprecation": "Deprecations",
    "doc": "Documentation",
    "misc": "Other changes",
}
INDEX_TITLES = {"testpypi": "TestPyPI", "pypi": "PyPI"}


class NotesError(ReleaseError):
    """Release notes cannot be written from what the repository holds."""


@dataclass(frozen=True)
class Fragment:
    """One user-visible change, as written in changes/<id>.<type>.md."""

    id: str
    type: str
    text: str
    counter: int = 0  # towncrier's `<id>.<type>.<n>.md` for a second fragment of one id

    @property
    def reference(self) -> str:
        if self.id.startswith("+"):  # towncrier's orphan fragments name no issue
            return ""
        return f" (#{self.id})" if self.id.isdigit() else f" ({self.id})"

    def sort_key(self) -> tuple[int, int, str, int]:
        numeric = self.id.isdigit()
        return (0 if numeric else 1, int(self.id) if numeric else 0, self.id, self.counter)


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str


def _version_of_tag(train: Train, tag: str | None) -> str | None:
    if not tag:
        return None
    m = tag_pattern(train.tag_format, train.name).match(tag)
    return m["version"] if m else None


def _fix_forward(version: str) -> str:
    """The version that fixes this one: .postN after a final, the next pre-release after one."""
    current = parse(version)
    part = "pre" if current.version.pre is not None else "post"
    try:
        return format_version(next_version(current.version, part), current.style)
    except ReleaseError:
        return "the next version"


def _md(text: object) -> str:
    """A table cell: no pipes or newlines to break the row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(intro: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table (with its intro paragraph), or nothing for no rows."""
    if not rows:
        return []
    lines = [intro, ""] if intro else []
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _seconds(value: object) -> str:
    return f"{float(value):.1f} s" if isinstance(value, int | float) else "?"


def _packages(train: Train, version: str, record: Mapping[str, Any] | None) -> list[str]:
    names = {str(a["package"]) for a in (record or {}).get("artifacts", [])
             if str(a.get("version")) == version}
    names |= {p.name for p in train.packages}
    return sorted(names)


def _install_lines(names: Sequence[str], version: str, extra: str) -> list[str]:
    return ["```sh", *(f"pip install --upgrade {extra}{n}=={version}" for n in names), "```"]


def _render_install(train: Train, names: Sequence[str], version: str,
                    indexes: Mapping[str, str], prerelease_on_pypi: bool) -> list[str]:
    lines = ["## Install or upgrade", ""]
    if train.kind != "python":
        return lines + [f"{train.name} is not a Python package: deploy version {version} the "
                        "way this artifact is deployed.", ""]
    if Version(version).is_prerelease and not prerelease_on_pypi:
        test = indexes.get("testpypi", "https://test.pypi.org/simple/")
        prod = indexes.get("pypi", "https://pypi.org/simple/")
        lines += [f"This is a pre-release: it is published on TestPyPI only ({test}). "
                  "Install it for testing, with PyPI for its dependencies:", ""]
        lines += _install_lines(names, version, f"--index-url {test} --extra-index-url {prod} ")
    else:
        lines += _install_lines(names, version, "")
    return lines + [""]


def _render_fragments(fragments: Sequence[Fragment], kind: str) -> list[str]:
    lines = []
    for f in fragments:
        if f.type != kind:
            continue
        first, *rest = f.text.splitlines()
        lines.append(f"- {first}{f.reference if not rest else ''}")
        lines += [f"  {line}".rstrip() for line in rest]
        if rest and f.reference:
            lines.append(f"  {f.reference.strip()}")
    return lines


def _render_changes(fragments: Sequence[Fragment], commits: Sequence[Commit],
                    since: str | None) -> list[str]:
    lines = ["## Changes", ""]
    for kind, title in TYPES.items():
        if kind == "breaking":
            continue
        listed = _render_fragments(fragments, kind)
        if listed:
            lines += [f"### {title}", "", *listed, ""]
    if commits:
        lines += [f"### Commits since {since}" if since else "### Commits", ""]
        lines += [f"- {c.subject} ({c.sha[:7]})" for c in commits]
        lines.append("")
    if len(lines) == 2:
        lines += [f"None recorded: add change fragments to {CHANGES_DIR}/ "
                  "(`<id>.<type>.md`).", ""]
    return lines


def _render_report(name: str, report: Mapping[str, Any], url: str | None) -> list[str]:
    title = INDEX_TITLES.get(name, name)
    verdict = "passed" if report.get("ok") else "FAILED"
    lines = [f"### {title}: {verdict}", ""]
    if url:
        lines.append(f"- index: {url}")
    if report.get("waited") is not None:
        lines.append(f"- every file was visible there, with our sha256, after "
                     f"{_seconds(report['waited'])}")
    if lines[-1]:
        lines.append("")
    rows = []
    for p in report.get("pythons") or []:
        interpreter = p.get("interpreter", "")
        if p.get("version"):
            interpreter = f"{p['version']} ({interpreter})"
        result = "ok" if p.get("ok") else f"FAILED: {p.get('error') or 'see the record'}"
        rows.append([p.get("python", "?"), interpreter, result, _seconds(p.get("seconds"))])
    lines += _table("Installed back in a fresh environment and smoke-tested:",
                    ["Python", "interpreter", "result", "time"], rows)
    rows = [[p.get("platform", "?"), p.get("python", "?"),
             "ok" if p.get("ok") else f"FAILED: {p.get('detail', '')}"]
            for p in report.get("platforms") or []]
    lines += _table("Resolved for other platforms without installing:",
                    ["platform", "Python", "result"], rows)
    problems = report.get("pin_problems") or []
    if problems:
        lines += [f"- pin: {problem}" for problem in problems] + [""]
    return lines


def _render_gates(record: Mapping[str, Any]) -> list[str]:
    """Gates (latest result of each command), manual checkpoints, version availability."""
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for result in record.get("gates") or []:
        latest[(str(result.get("kind")), str(result.get("command")))] = result
    rows = [[f"`{r.get('command')}`", r.get("kind", ""),
             "passed" if r.get("ok") else f"FAILED (exit {r.get('exit')})",
             _seconds(r.get("seconds")), str(r.get("commit", ""))[:12], r.get("log", "")]
            for r in latest.values()]
    lines = ["### Gates", ""]
    if rows:
        lines += _table("Run in a clean worktree of the release commit before any upload:",
                        ["command", "kind", "result", "time", "commit", "log"], rows)
    else:
        lines += ["No validation commands are configured (`checks`).", ""]
    acks = record.get("acks") or {}
    if acks:
        lines += _table("Manual checkpoints, acknowledged:", ["checkpoint", "by", "at"],
                        [[text, a.get("by", ""), a.get("at", "")] for text, a in acks.items()])
    checks = (record.get("steps") or {}).get("preflight", {}).get("outputs", {}).get("checks")
    free = [c for c in checks or [] if "has that version on" in c or "could not check" in c]
    if free:
        lines += ["Version availability, checked before anything was written:", ""]
        lines += [f"- {c}" for c in free] + [""]
    return lines


def _render_summary(record: Mapping[str, Any]) -> list[str]:
    """One line: which Pythons, platforms and indexes the release was verified on."""
    reports: Mapping[str, Any] = record.get("verifications") or {}
    pythons = sorted({str(p.get("python")) for r in reports.values()
                      for p in r.get("pythons") or [] if p.get("ok")})
    platforms = sorted({str(p.get("platform")) for r in reports.values()
                        for p in r.get("platforms") or [] if p.get("ok")})
    indexes = [INDEX_TITLES.get(n, n) for n, r in reports.items() if r.get("ok")]
    gates = {str(r.get("command")) for r in record.get("gates") or [] if r.get("ok")}
    if not (pythons or platforms or indexes or gates):
        return []
    return [f"In short: {len(gates)} gate(s) passed; installed back from "
            f"{', '.join(indexes) or 'no index'} on Python {', '.join(pythons) or 'none'}; "
            f"resolved for {', '.join(platforms) or 'no other platform'}.", ""]


def _render_validation(record: Mapping[str, Any] | None, version: str) -> list[str]:
    lines = ["## Validation performed", ""]
    if record is not None:
        lines += _render_summary(record) + _render_gates(record)
    verifications: Mapping[str, Any] = (record or {}).get("verifications") or {}
    if not verifications:
        why = "no release record exists for this version" if record is None else \
            "the release record holds no verification"
        lines += [f"**Not verified yet**: {why}. Nothing below was installed back from an "
                  "index.", ""]
    order = [n for n in INDEX_TITLES if n in verifications] + \
        sorted(n for n in verifications if n not in INDEX_TITLES)
    indexes: Mapping[str, str] = (record or {}).get("indexes") or {}
    for name in order:
        lines += _render_report(name, verifications[name], indexes.get(name))
    artifacts = [a for a in (record or {}).get("artifacts", [])
                 if str(a.get("version")) == version]
    if artifacts:
        rows = [[a.get("filename"), a.get("kind", ""), a.get("size", ""),
                 f"`{a.get('sha256', '')}`"]
                for a in sorted(artifacts, key=lambda a: str(a.get("filename")))]
        lines += ["### Files", ""] + _table("", ["file", "kind", "size", "sha256"], rows)
    else:
        lines += ["No built files are recorded yet.", ""]
    return lines


def known_issues(record: Mapping[str, Any] | None) -> list[str]:
    """What the record says went wrong: failed platforms, Pythons, pins and steps."""
    issues = []
    for name, report in sorted(((record or {}).get("verifications") or {}).items()):
        where = INDEX_TITLES.get(name, name)
        for p in report.get("platforms") or []:
            if not p.get("ok"):
                issues.append(f"platform {p.get('platform')} (Python {p.get('python')}) does "
                              f"not resolve from {where}: {p.get('detail', '')}".rstrip(": "))
        for p in report.get("pythons") or []:
            if not p.get("ok"):
                issues.append(f"Python {p.get('python')}: install-back from {where} failed: "
                              f"{p.get('error') or 'see the record'}")
        for problem in report.get("pin_problems") or []:
            issues.append(f"{where}: {problem}")
    latest = {str(r.get("command")): r for r in (record or {}).get("gates") or []}
    issues += [f"gate `{c}` failed (exit {r.get('exit')}; log {r.get('log')})"
               for c, r in latest.items() if not r.get("ok")]
    for name, step in ((record or {}).get("steps") or {}).items():
        if isinstance(step, Mapping) and step.get("status") == "failed":
            issues.append(f"step {name} failed: {step.get('error', '')}".rstrip(": "))
    return issues


def _render_rollback(train: Train, names: Sequence[str], version: str,
                     rollback_tag: str | None) -> list[str]:
    lines = ["## Rollback", ""]
    previous = _version_of_tag(train, rollback_tag)
    if train.kind != "python":
        back = f"version {previous} (tag `{rollback_tag}`)" if previous else "the previous version"
        return lines + [f"Deploy {back} again. Published versions are never changed: fix "
                        f"forward with {_fix_forward(version)}.", ""]
    if previous:
        lines += [f"To go back, pin the previous release ({previous}, tag `{rollback_tag}`):",
                  "", "```sh", *(f"pip install {n}=={previous}" for n in names), "```", ""]
    else:
        lines += ["This is the train's first release: there is no earlier version to go back "
                  "to; uninstall instead:", "", "```sh",
                  f"pip uninstall {' '.join(names)}", "```", ""]
    lines += [f"Published files are never deleted or replaced. If {version} is bad, yank it on "
              "the index (new installs skip it; exact pins still work), then fix forward with "
              f"{_fix_forward(version)}.", ""]
    return lines


def render(train: Train, version: str, *, date: str,
           record: Mapping[str, Any] | None = None,
           fragments: Sequence[Fragment] = (),
           commits: Sequence[Commit] = (),
           since_tag: str | None = None,
           rollback_tag: str | None = None,
           indexes: Mapping[str, str] | None = None,
           prerelease_on_pypi: bool = False,
           downstream: Sequence[str] = ()) -> str:
    """The notes of one train's release, as Markdown. Pure: same inputs, same text."""
    try:
        Version(version)
    except InvalidVersion:
        raise NotesError(f"{version!r} is not a valid PEP 440 version") from None
    data: Mapping[str, Any] = record or {}
    names = _packages(train, version, record)
    tag = data.get("tag") or train.tag(version)
    lines = [f"# {train.name} {version} ({date})", ""]
    about = f"Tag `{tag}`"
    if data.get("commit"):
        about += f" on commit `{str(data['commit'])[:12]}`"
    about += "."
    if since_tag:
        about += f" Previous release: `{since_tag}`."
    lines += [about, ""]

    lines += ["## Packages", ""]
    if names:
        lines += [f"- {n} == {version}" for n in names]
    else:
        lines.append(f"- {train.name} == {version} (not a Python package)")
    lines.append("")
    lines += _render_install(train, names, version, {**(indexes or {}),
                                                     **(data.get("indexes") or {})},
                             prerelease_on_pypi)
    if downstream:
        lines += ["## Downstream", "", *(f"- {d}" for d in downstream), ""]

    lines += ["## Breaking changes and upgrade steps", ""]
    lines += _render_fragments(fragments, "breaking") or ["None."]
    lines.append("")
    lines += _render_changes(fragments, commits, since_tag)
    lines += _render_validation(record, version)

    lines += ["## Known issues", ""]
    lines += [f"- {issue}" for issue in known_issues(record)] or ["None known."]
    lines.append("")
    lines += _render_rollback(train, names, version, rollback_tag)
    return "\n".join(lines).rstrip("\n") + "\n"
