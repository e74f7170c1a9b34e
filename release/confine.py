"""Where release-train writes: inside the repository, a rehearsal workspace, the tool's cache
directory, or a directory it created itself (or that the user named on the command line).

A repository is not trusted to be shaped as it looks: a committed symlink (`.release`, `dist`,
`release-notes`, a workflow file, a stray temporary file) or a `..` in a name built from
configuration can lead a path that starts inside the repository to somewhere else entirely.
Every write goes through `check` first: a path that starts inside an allowed root must still be
inside one once every symlink is followed, or it is refused in one line. Paths outside every root
(a `--dist` the user chose, a temporary directory) are the caller's choice and pass.

Files are replaced whole (`write_atomic`: a temporary file beside the target, then one rename),
so a kill or a full disk leaves every file either old or new, never half-written.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from release.errors import ReleaseError
from release.platforms import replace_file

PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# lexical (absolute, as given) root -> the same root with every symlink followed
_ROOTS: dict[Path, Path] = {}


class ConfinementError(ReleaseError):
    """A write would land outside the repository (through a symlink or a `..`)."""


def plain_name(name: str, what: str) -> str:
    """A name that becomes part of a path (train, index): letters, digits, `.`, `_`, `-`,
    starting with a letter or digit; never `..`, `/` or an absolute path."""
    if not PLAIN_NAME.fullmatch(name) or ".." in name:
        raise ReleaseError(f"{what} {name!r} is not a plain name: use letters, digits, '.', "
                           "'_' and '-', starting with a letter or digit")
    return name


def allow(path: Path | str) -> Path:
    """Make `path` (a repository, a workspace, a cache) a root writes may go into."""
    given = Path(path)
    real = Path(os.path.realpath(given))
    _ROOTS[Path(os.path.abspath(given))] = real
    _ROOTS[real] = real
    return given


def roots() -> list[Path]:
    return sorted(set(_ROOTS.values()))


def _starts_with(path: Path, root: Path) -> bool:
    return path.parts[:len(root.parts)] == root.parts


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check(path: Path | str) -> Path:
    """path, unless it starts inside an allowed root but resolves outside every one (a
    symlink, a `..`): then one ConfinementError line naming both."""
    given = Path(path)
    lexical = given if given.is_absolute() else Path.cwd() / given  # `..` kept on purpose
    owners = [root for root in _ROOTS if _starts_with(lexical, root)]
    if not owners:
        return given
    real = Path(os.path.realpath(lexical))
    if any(_inside(real, r) for r in _ROOTS.values()):
        return given
    owner = max(owners, key=lambda r: len(r.parts))
    raise ConfinementError(
        f"refusing to write {given}: it leads to {real}, outside {owner} (a symlink or '..' "
        "on the way); release-train writes only inside the repository, its workspace and its "
        "cache: remove that symlink (or fix the name), then run the command again")


def mkdir(path: Path) -> Path:
    """`mkdir -p`, confined."""
    check(path).mkdir(parents=True, exist_ok=True)
    check(path)  # a directory that appeared meanwhile as a symlink
    return path


def write_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace path's content in one rename; refused when the path leads out of every allowed
    root (`check`). The permission bits are `mode`, else the file's own (0o644 for a new one).
    The temporary file is created anew (O_EXCL), so a symlink planted under a temporary name
    is never written through; it is removed when anything fails."""
    check(path)
    if mode is None:
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        replace_file(tmp, path)  # retried while Windows holds it open
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
