"""The files release-train adds to a repository so that it runs there: `tasks.py` and
`noxfile.py` (written by `init` and `init-ci` where the repository has none), the GitHub
workflows (`workflows` renders them) and the hash-locked requirements CI installs release-train
from. Existing workflow files are replaced only when asked.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from release import confine
from release.config import Config, load
from release.confine import write_atomic
from release.errors import ReleaseError
from release.workflows import (
    REQUIREMENTS,
    REQUIREMENTS_IN,
    WorkflowError,
    own_checkout,
    render_workflows,
    tool_python,
)

TASKS = ('from release.cli import namespace as ns  # release-train\'s invoke tasks '
         '(invoke --list)\n')
NOXFILE = '''"""nox sessions for releases: build, testpypi, pypi, verify, rehearse."""

import nox

from release.noxsessions import *  # noqa: F403

nox.options.default_venv_backend = "none"  # release-train isolates builds and installs itself
nox.options.sessions = []  # nothing runs by accident: name the session
nox.options.stop_on_first_error = True  # `nox -s build testpypi verify` stops at a failure
'''


def requirement_for(install: str | None) -> str:
    """The requirement CI locks: --install, else exactly this release-train's version."""
    from release import __version__

    spec = (install or f"release-train=={__version__}").strip()
    if "==" not in spec and "@" not in spec:
        raise WorkflowError(f"--install {spec!r}: give an exact version (release-train==X.Y.Z) "
                            "or a wheel URL; CI installs exactly that, with hashes")
    return spec


def lock_requirements(config: Config, spec: str) -> tuple[str | None, str]:
    """The locked requirements text for spec (exact versions, --hash lines) and how it was
    made; (None, why) when it cannot be locked here (offline, not on the index)."""
    from release.proc import run as run_proc
    from release.versions.lockfiles import uv_binary

    lock = config.root / "uv.lock"
    if lock.is_file() and re.search(r'(?m)^name = "release-train"$',
                                    lock.read_text(encoding="utf-8")):
        group = _group_with_release_train(config)
        if group:
            argv = [uv_binary(), "export", "--frozen", "--no-emit-project", "--only-group",
                    group, "--format", "requirements-txt", "--no-header"]
            try:
                done = run_proc(argv, cwd=config.root, timeout=120)
            except ReleaseError as exc:
                return None, f"uv export of dependency group {group} failed: {exc}"
            return done.stdout, f"dependency group {group!r} of uv.lock"
    argv = [uv_binary(), "pip", "compile", "--generate-hashes", "--no-header", "--quiet",
            "--python-version", tool_python(config), "-"]
    try:
        done = run_proc(argv, cwd=config.root, timeout=300, input=spec + "\n")
    except ReleaseError as exc:
        return None, str(exc).splitlines()[-1]
    return done.stdout, f"uv pip compile --generate-hashes {spec}"


def _group_with_release_train(config: Config) -> str | None:
    data = tomllib.loads((config.root / "pyproject.toml").read_text(encoding="utf-8")) \
        if (config.root / "pyproject.toml").is_file() else {}
    for group, reqs in (data.get("dependency-groups") or {}).items():
        for req in reqs if isinstance(reqs, list) else []:
            if isinstance(req, str) and _names_release_train(req):
                return str(group)
    return None


def _names_release_train(requirement: str) -> bool:
    try:
        return canonicalize_name(Requirement(requirement).name) == "release-train"
    except InvalidRequirement:
        return False


def for_trains(config: Config, names: Sequence[str] | None) -> Config:
    """The config as the workflows see it: with `names`, only those (python) trains, whose
    tags the workflows then react to."""
    if not names:
        return config
    chosen = {n: config.train(n) for n in names}
    artifacts = [n for n, t in chosen.items() if t.kind != "python"]
    if artifacts:
        raise WorkflowError(f"train {artifacts[0]} is an artifact train: CI builds and "
                            "publishes python trains (--train names those)")
    return replace(config, trains=chosen)


def write_workflows(root: Path, *, force: bool = False, install: str | None = None,
                    dry_run: bool = False, trains: Sequence[str] | None = None) -> list[str]:
    """Write the workflows (and the locked requirements CI installs release-train from);
    existing workflow files are only replaced with force. What was (or would be) written."""
    config = for_trains(load(root), trains)
    rendered = render_workflows(config, install)
    existing = [rel for rel in rendered if (config.root / rel).exists()]
    if existing and not force:
        names = ", ".join(str(rel) for rel in existing)
        raise WorkflowError(f"{names} already exist{'s' if len(existing) == 1 else ''}: "
                            "pass --force to replace")
    files: dict[Path, str] = dict(rendered)
    notes: list[str] = []
    if not own_checkout(config):
        spec = requirement_for(install)
        locked, how = lock_requirements(config, spec)
        files[REQUIREMENTS_IN] = spec + "\n"
        if locked is not None:
            files[REQUIREMENTS] = locked
            notes.append(f"locked {spec} for CI ({how}): {REQUIREMENTS}")
        else:
            notes.append(f"next: lock {spec} for CI, which installs only with hashes: "
                         f"uv pip compile --generate-hashes {REQUIREMENTS_IN} -o "
                         f"{REQUIREMENTS} (not possible here: {how})")
    if not (config.root / "noxfile.py").exists():  # the workflows run release-train's sessions
        files[Path("noxfile.py")] = NOXFILE
    if dry_run:
        return [f"--- {rel}\n{text.rstrip()}" for rel, text in files.items()] + notes
    written = []
    for rel, text in files.items():
        path = config.root / rel
        confine.mkdir(path.parent)
        write_atomic(path, text)
        written.append(f"wrote {path}")
    return written + notes
