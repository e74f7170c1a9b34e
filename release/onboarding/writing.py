"""Writing `init`'s proposal: the configuration as short TOML (`[tool.release]` tables appended
to pyproject.toml, or release.toml), and tasks.py/noxfile.py where the repository has none."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

import tomlkit

from release.config import DEFAULT_TAG_FORMAT
from release.onboarding.proposal import InitError, Proposal
from release.scaffold import NOXFILE, TASKS
from release.versions.spots import table


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


def refuse_existing(root: Path, force: bool) -> list[str]:
    """The release configuration the repository has (refused unless `force` replaces it)."""
    existing = _existing(root)
    if existing and not force:
        raise InitError(f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}"
                        ": pass --force to replace the release configuration")
    return existing


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
    existing = refuse_existing(root, force)
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
