"""Why two builds of one sdist or wheel differ, said in words a maintainer can act on.

`--reproducible` builds twice and `--rebuild` compares with published files; a bare "the
sha256 differ" leaves the maintainer to unpack both archives. Here the two files are opened
and compared layer by layer (gzip header, tar or zip member list, order, timestamps,
permissions, owners, content), and each cause is named with the member it concerns. `fix_for`
then names the backend setting that removes the cause, where one is known (measured per
backend: see docs/builds.md).
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from release.errors import BuildError

M = TypeVar("M")

EXAMPLES = 3  # members named per cause; the rest are counted


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(names[:EXAMPLES])
    return shown + (f" and {len(names) - EXAMPLES} more" if len(names) > EXAMPLES else "")


def _gzip_header(data: bytes) -> tuple[int, bytes]:
    """(MTIME, the rest of the fixed header and the stored file name)."""
    if data[:2] != b"\x1f\x8b" or len(data) < 10:
        raise BuildError("not a gzip file")
    rest = data[2:4] + data[8:10]
    if data[3] & 0x08:  # FNAME: a zero-terminated name follows the fixed header
        rest += data[10:data.index(b"\0", 10)]
    return int.from_bytes(data[4:8], "little"), rest


def _gzip_causes(left: bytes, right: bytes) -> list[str]:
    (t1, h1), (t2, h2) = _gzip_header(left), _gzip_header(right)
    causes = []
    if t1 != t2:
        causes.append(f"the gzip header time ({t1} vs {t2})")
    if h1 != h2:
        causes.append("the gzip header flags or stored file name")
    return causes


def _member_causes(kind: str, order1: list[str], order2: list[str]) -> list[str]:
    only1 = [n for n in order1 if n not in set(order2)]
    only2 = [n for n in order2 if n not in set(order1)]
    causes = []
    if only1 or only2:
        causes.append(f"the {kind} members (only in the first: {_some(only1) or 'none'}; "
                      f"only in the second: {_some(only2) or 'none'})")
    common = set(order1) & set(order2)
    if [n for n in order1 if n in common] != [n for n in order2 if n in common]:
        causes.append(f"the {kind} member order")
    return causes


def _compare_members(kind: str, left: Mapping[str, M], right: Mapping[str, M],
                     checks: Mapping[str, Callable[[M, M], bool]],
                     content: Callable[[str], bool]) -> list[str]:
    """Causes found member by member, the same way for tar and zip: members added, removed or
    reordered, each metadata check that differs, then content (`content(name)`: differs?)."""
    causes = _member_causes(kind, list(left), list(right))
    common = [n for n in left if n in right]
    for what, differs in checks.items():
        names = [n for n in common if differs(left[n], right[n])]
        if names:
            causes.append(f"{what} ({_some(names)})")
    changed = [n for n in common if content(n)]
    if changed:
        causes.append(f"member content ({_some(changed)})")
    return causes


def _tar_causes(left: bytes, right: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(left)) as t1, \
            tarfile.open(fileobj=io.BytesIO(right)) as t2:
        m1 = {m.name: m for m in t1.getmembers()}
        m2 = {m.name: m for m in t2.getmembers()}
        checks: dict[str, Callable[[tarfile.TarInfo, tarfile.TarInfo], bool]] = {
            "tar member mtimes": lambda a, b: a.mtime != b.mtime,
            "tar member permissions": lambda a, b: a.mode != b.mode,
            "tar member owners": lambda a, b: (a.uid, a.gid, a.uname, a.gname) != (
                b.uid, b.gid, b.uname, b.gname),
            "tar member types or link targets": lambda a, b: (a.type, a.linkname) != (
                b.type, b.linkname),
            "tar pax headers": lambda a, b: _pax(a) != _pax(b),
        }
        causes = _compare_members(
            "tar", m1, m2, checks, lambda n: m1[n].isfile() and m2[n].isfile()
            and _tar_read(t1, m1[n]) != _tar_read(t2, m2[n]))
    return causes or ["the tar headers (same members, metadata and content: the tar format "
                      "or padding)"]


def _pax(member: tarfile.TarInfo) -> dict[str, str]:
    """Pax headers other than the times (those are reported as member mtimes)."""
    return {k: v for k, v in member.pax_headers.items() if k not in ("mtime", "atime", "ctime")}


def _tar_read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    return handle.read() if handle is not None else b""


def _zip_causes(left: bytes, right: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(left)) as z1, zipfile.ZipFile(io.BytesIO(right)) as z2:
        i1 = {i.filename: i for i in z1.infolist()}
        i2 = {i.filename: i for i in z2.infolist()}
        checks: dict[str, Callable[[zipfile.ZipInfo, zipfile.ZipInfo], bool]] = {
            "zip member timestamps": lambda a, b: a.date_time != b.date_time,
            "zip member permissions": lambda a, b: a.external_attr != b.external_attr,
            "zip member compression": lambda a, b: (a.compress_type, a.compress_size) != (
                b.compress_type, b.compress_size) and a.CRC == b.CRC,
            "zip member extra fields or comments": lambda a, b: (a.extra, a.comment) != (
                b.extra, b.comment),
        }
        causes = _compare_members("zip", i1, i2, checks, lambda n: z1.read(n) != z2.read(n))
        if z1.comment != z2.comment:
            causes.append("the zip archive comment")
    return causes or ["the zip headers (same members, metadata and content)"]


def explain(left: Path, right: Path) -> list[str]:
    """What differs between two files of the same name; [] when their bytes are equal."""
    a, b = left.read_bytes(), right.read_bytes()
    if a == b:
        return []
    name = left.name
    try:
        if name.endswith((".tar.gz", ".tgz")):
            causes = _gzip_causes(a, b)
            inner1, inner2 = gzip.decompress(a), gzip.decompress(b)
            if inner1 != inner2:
                causes += _tar_causes(inner1, inner2)
            return causes or ["the gzip compression (same tar inside)"]
        if name.endswith((".whl", ".zip")):
            return _zip_causes(a, b)
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, BuildError) as exc:
        return [f"the bytes (cannot open it to say more: {exc})"]
    return ["the bytes"]


# What removes each cause, per backend (the first dotted part of its build-backend), as
# measured (docs/builds.md). The builder already sets SOURCE_DATE_EPOCH to the commit time.
FIXES = {
    "setuptools": "setuptools ignores SOURCE_DATE_EPOCH in sdists: the gzip header and the "
                  "files it writes (PKG-INFO, setup.cfg, *.egg-info/, directories) carry the "
                  "build time, and no setting changes that (its wheels are reproducible); "
                  "for byte-identical sdists move the package to hatchling, flit_core or "
                  "poetry-core, else rely on the recorded files (build reuses uploaded ones)",
    "pdm": "pdm-backend honours SOURCE_DATE_EPOCH for members but writes the gzip header "
           "with the build time, and no setting changes that; for byte-identical sdists move "
           "the package to hatchling, flit_core or poetry-core, else rely on the recorded "
           "files (build reuses uploaded ones)",
}
GENERIC_FIX = ("make the backend honour SOURCE_DATE_EPOCH (release-train sets it to the "
               "commit time) or switch to a backend that does (hatchling, flit_core)")


def fix_for(backend: str, causes: Sequence[str]) -> str:
    """The setting that makes the backend's files reproducible, or why none does."""
    if all(c.startswith("member content") for c in causes):
        return ("the content changes between builds: something in the build writes "
                "the time, a random value or a path into the files")
    return FIXES.get(backend.split(".", 1)[0].split(":", 1)[0], GENERIC_FIX)
