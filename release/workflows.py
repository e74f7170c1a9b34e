"""GitHub Actions workflows that run a release with the same nox sessions people run by hand.

`invoke init-ci` writes two workflows into a repository, computed from its release config:

- `release-candidate.yml`: a pre-release tag (`a`, `b`, `rc`) of any python train builds once,
  then uploads to TestPyPI and installs back on each configured Python (a matrix);
- `release.yml`: a final or `.postN` tag does the same, then uploads to PyPI with trusted
  publishing (an `id-token: write` job in the `pypi` environment) and installs back from PyPI
  on each Python.

Both start with `release-train check --tag` (the tag names the version every file carries),
build the files once and hand them to later jobs as an artifact, so what is verified and
published is byte for byte what was built; the release records travel with them, so the PyPI
job sees that TestPyPI verified these very files (the sessions' own production rule).

Workflows are produced as Python data and written by a small YAML emitter (PyYAML is not a
dependency): every string that could be read as anything but a string is quoted, so the text
means exactly the data.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from . import confine
from .config import Config, Train, load
from .edits import write_atomic
from .errors import ReleaseError
from .record import DIRECTORY

WORKFLOWS_DIR = Path(".github") / "workflows"
RC_WORKFLOW = "release-candidate.yml"
FINAL_WORKFLOW = "release.yml"
PRE_MARKERS = ("a", "b", "rc")  # PEP 440 pre-release letters as tags write them
NOT_FINAL = (*PRE_MARKERS, "dev")
TOOL_PYTHON = "3.12"  # what release-train itself runs on in CI, unless the config says better
CHECKOUT = "actions/checkout@v4"
SETUP_PYTHON = "actions/setup-python@v5"
UPLOAD_ARTIFACT = "actions/upload-artifact@v4"
BUILT = "built-files"  # the artifact: dist/ and the release records of the build
RECORDS = DIRECTORY  # .release/: records (and, for the pipeline, its dist/)
DOWNLOAD_ARTIFACT = "actions/download-artifact@v4"
HEADER = ("# Written by release-train (invoke init-ci) from [tool.release]: regenerate with\n"
          "# `invoke init-ci --force` after changing trains, tag formats or Pythons.\n")


class WorkflowError(ReleaseError):
    """The workflows cannot be written (existing files, no python train)."""


# --- YAML ---------------------------------------------------------------------------------

# Plain (unquoted) scalars: no indicator first, no ": " or " #" inside, nothing at the end
# that could continue the syntax. Anything else is written as a JSON string.
_PLAIN = re.compile(r"^(?!- )[A-Za-z0-9_./=+$(-][A-Za-z0-9_ ./=+@,()$\"'{}*!|&<>;:#%-]*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_RESERVED = re.compile(
    r"^(?:~|null|true|false|yes|no|on|off|y|n|[-+]?(?:[0-9][0-9_.]*(?:e[-+]?[0-9]+)?|\.inf|\.nan)"
    r"|0x[0-9a-f]+|0o[0-7]+)$", re.IGNORECASE)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and not _RESERVED.match(text) and ": " not in text \
            and " #" not in text and not text.endswith((" ", ":")):
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def _key(key: str) -> str:
    # `on` stays plain as GitHub writes it: keys are strings in GitHub's YAML 1.2 reading.
    return key if _KEY.match(key) else json.dumps(key)


def _block(text: str, indent: int) -> list[str]:
    if text[:1].isspace():
        raise ValueError("a literal block cannot start with whitespace")
    chomp = "" if text.endswith("\n") else "-"
    pad = " " * indent
    return [f"|{chomp}", *(f"{pad}{line}" if line else "" for line in text.splitlines())]


def _emit(value: Any, indent: int) -> list[str]:
    """Lines of a block-style node at indent (the caller places the first one)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            lines += _entry(f"{pad}{_key(str(key))}:", item, indent + 2)
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, Mapping) and item:
                inner = _emit(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines += _entry(f"{pad}-", item, indent + 2)
    else:
        raise TypeError(f"not a mapping or list: {value!r}")
    return lines


def _entry(head: str, item: Any, indent: int) -> list[str]:
    if isinstance(item, Mapping | list | tuple):
        if not item:
            return [f"{head} {'{}' if isinstance(item, Mapping) else '[]'}"]
        return [head, *_emit(item, indent)]
    if isinstance(item, str) and "\n" in item:
        first, *rest = _block(item, indent)
        return [f"{head} {first}", *rest]
    return [f"{head} {_scalar(item)}"]


def to_yaml(data: Mapping[str, Any], header: str = "") -> str:
    """Block-style YAML for JSON-like data; multi-line strings become literal blocks."""
    return header + "\n".join(_emit(data, 0)) + "\n"


# --- what the workflows contain ------------------------------------------------------------

def _glob_literal(text: str) -> str:
    """Text matched literally by GitHub's filter patterns."""
    return re.sub(r"([*?+\[\]!\\])", r"\\\1", text)


def tag_patterns(train: Train, markers: Sequence[str] = ()) -> list[str]:
    """GitHub tag filters for the train's tags: all of them, or those with a marker after the
    fixed prefix (`v*rc*`)."""
    before, _, after = train.tag_format.partition("{version}")
    prefix = _glob_literal(before.format(train=train.name))
    suffix = _glob_literal(after.format(train=train.name))
    if not markers:
        return [f"{prefix}*{suffix}"]
    return [f"{prefix}*{marker}*{suffix}" for marker in markers]


def python_trains(config: Config) -> list[Train]:
    trains = [t for t in config.trains.values() if t.kind == "python"]
    if not trains:
        raise WorkflowError(f"{config.source.name}: no python train: there is nothing for CI to "
                            "build and publish")
    return trains


def tool_python(config: Config) -> str:
    """The newest configured Python release-train runs on (>= 3.11), else TOOL_PYTHON."""
    usable = []
    for text in config.pythons:
        try:
            if Version(text) >= Version("3.11"):
                usable.append((Version(text), text))
        except InvalidVersion:
            continue
    return max(usable)[1] if usable else TOOL_PYTHON


def default_install(config: Config) -> str:
    """How CI gets release-train: this checkout in release-train's own repository."""
    pyproject = config.root / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        if data.get("project", {}).get("name") == "release-train":
            return "."
    return "release-train"


def _train_case(trains: Sequence[Train]) -> str:
    """Shell that names the train the pushed tag belongs to (longest prefix first)."""
    arms = []
    for train in sorted(trains, key=lambda t: -len(t.tag_format.split("{version}")[0]
                                                   .format(train=t.name))):
        before, _, after = train.tag_format.partition("{version}")
        pattern = shlex.quote(before.format(train=train.name)) + "*"
        if after:
            pattern += shlex.quote(after.format(train=train.name))
        arms.append(f"  {pattern}) train={shlex.quote(train.name)} ;;")
    return "\n".join([
        'case "$RELEASE_TAG" in', *arms,
        '  *) echo "::error::tag $RELEASE_TAG belongs to no python train"; exit 1 ;;',
        "esac",
        'echo "name=$train" >> "$GITHUB_OUTPUT"',
    ]) + "\n"


def _setup(*pythons: str) -> dict[str, Any]:
    """setup-python for these versions; the last one listed is `python` on PATH."""
    unique = list(dict.fromkeys(pythons))
    version = unique[0] if len(unique) == 1 else "\n".join(unique) + "\n"
    return {"uses": SETUP_PYTHON, "with": {"python-version": version}}


def _install(spec: str) -> dict[str, Any]:
    return {"name": "Install release-train",
            "run": "python -m pip install --upgrade pip\n"
                   f"python -m pip install {shlex.quote(spec)}\n"}


def _build_job(config: Config, trains: Sequence[Train], spec: str) -> dict[str, Any]:
    return {
        "name": "Build from the tag",
        "runs-on": "ubuntu-latest",
        "outputs": {"train": "${{ steps.train.outputs.name }}"},
        "steps": [
            {"uses": CHECKOUT, "with": {"fetch-depth": 0}},  # tags and history for check
            _setup(tool_python(config)),
            _install(spec),
            {"name": "The tag names the version every file carries",
             "run": 'release-train check --tag "$RELEASE_TAG"'},
            {"name": "Train of this tag", "id": "train", "run": _train_case(trains)},
            {"name": "Build sdists and wheels (nox -s build)",
             "env": {"TRAIN": "${{ steps.train.outputs.name }}"},
             "run": 'nox -s build -- --train "$TRAIN" --ref "$RELEASE_TAG"'},
            _keep(BUILT, f"dist/\n{RECORDS}/\n", "error"),
        ],
    }


def _keep(name: str, paths: str, missing: str) -> dict[str, Any]:
    """Upload files for later jobs (.release/ is hidden: say so, or it is left out)."""
    return {"name": f"Keep {name}", "uses": UPLOAD_ARTIFACT,
            "with": {"name": name, "path": paths, "if-no-files-found": missing,
                     "include-hidden-files": True}}


def _fetch(name: str | None = None, pattern: str | None = None,
           path: str = ".") -> dict[str, Any]:
    """Download an artifact (or all matching pattern, merged) to path in the checkout."""
    given: dict[str, Any] = {"name": name} if name else {"pattern": pattern,
                                                         "merge-multiple": True}
    return {"name": f"Fetch {name or pattern}", "uses": DOWNLOAD_ARTIFACT,
            "with": {**given, "path": path}}


def _index_job(config: Config, spec: str, *, session: str, needs: str, title: str,
               publish: str | None, matrix: bool, records: str | None) -> dict[str, Any]:
    """A job that runs one nox session on the built files (per Python when matrix).

    The files come from the build job; the release records from the jobs before (`records`,
    a download pattern), so a session sees what earlier stages verified. Each job keeps its
    own records for the next one: the gate itself is `needs`, every matrix entry passed."""
    tool = tool_python(config)
    pythons = ["${{ matrix.python }}", tool] if matrix else [tool]
    # Install-back runs on PYTHON only: the one this job set up (others are not on PATH).
    run = f'nox -s {session} -- --train "$TRAIN" --python "$PYTHON"'
    env = {"TRAIN": "${{ needs.build.outputs.train }}",
           "PYTHON": "${{ matrix.python }}" if matrix else tool}
    job: dict[str, Any] = {
        "name": f"{title}, Python ${{{{ matrix.python }}}}" if matrix else title,
        "needs": needs if needs == "build" else ["build", needs],
        "runs-on": "ubuntu-latest",
    }
    if publish:
        job["environment"] = publish
        job["permissions"] = {"contents": "read", "id-token": "write"}  # trusted publishing
    if matrix:
        job["strategy"] = {"fail-fast": False,
                           "matrix": {"python": list(config.pythons)}}
    job["env"] = env
    keep = f"records-{session}" + ("-${{ matrix.python }}" if matrix else "")
    job["steps"] = [
        {"uses": CHECKOUT, "with": {"fetch-depth": 0}},
        _setup(*pythons),
        _install(spec),
        _fetch(name=BUILT),
        # A single uploaded directory is stored without its name: put it back in .release/.
        *([_fetch(pattern=records, path=RECORDS)] if records else []),
        {"name": f"nox -s {session}", "run": run},
        _keep(keep, f"{RECORDS}/", "ignore"),
    ]
    return job


def _workflow(name: str, tags: list[str], jobs: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "on": {"push": {"tags": tags}},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "release-${{ github.ref }}", "cancel-in-progress": False},
        "env": {"RELEASE_TAG": "${{ github.ref_name }}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        "jobs": jobs,
    }


def release_candidate(config: Config, spec: str) -> dict[str, Any]:
    """Pre-release tags: build, then TestPyPI upload and install-back per Python."""
    trains = python_trains(config)
    tags = [p for t in trains for p in tag_patterns(t, PRE_MARKERS)]
    return _workflow("release candidate", tags, {
        "build": _build_job(config, trains, spec),
        "testpypi": _index_job(config, spec, session="testpypi", needs="build",
                               title="TestPyPI", publish="testpypi", matrix=True,
                               records=None),
    })


def release(config: Config, spec: str) -> dict[str, Any]:
    """Final and .postN tags: build, TestPyPI per Python, PyPI once, then PyPI per Python."""
    trains = python_trains(config)
    tags = [p for t in trains for p in tag_patterns(t)]
    tags += [f"!{p}" for t in trains for p in tag_patterns(t, NOT_FINAL)]
    return _workflow("release", tags, {
        "build": _build_job(config, trains, spec),
        "testpypi": _index_job(config, spec, session="testpypi", needs="build",
                               title="TestPyPI", publish="testpypi", matrix=True,
                               records=None),
        "pypi": _index_job(config, spec, session="pypi", needs="testpypi", title="PyPI",
                           publish="pypi", matrix=False, records="records-testpypi-*"),
        "verify": _index_job(config, spec, session="verify", needs="pypi",
                             title="Install back from PyPI", publish=None, matrix=True,
                             records="records-pypi"),
    })


def render_workflows(config: Config, install: str | None = None) -> dict[Path, str]:
    """Relative path -> YAML text of each workflow."""
    spec = install or default_install(config)
    return {
        WORKFLOWS_DIR / RC_WORKFLOW: to_yaml(release_candidate(config, spec), HEADER),
        WORKFLOWS_DIR / FINAL_WORKFLOW: to_yaml(release(config, spec), HEADER),
    }


def write_workflows(root: Path, *, force: bool = False, install: str | None = None) -> list[Path]:
    """Write the workflows; existing files are only replaced with force."""
    config = load(root)
    rendered = render_workflows(config, install)
    existing = [rel for rel in rendered if (config.root / rel).exists()]
    if existing and not force:
        names = ", ".join(str(rel) for rel in existing)
        raise WorkflowError(f"{names} already exist{'s' if len(existing) == 1 else ''}: "
                            "pass --force to replace")
    written = []
    for rel, text in rendered.items():
        path = config.root / rel
        confine.mkdir(path.parent)
        write_atomic(path, text)
        written.append(path)
    noxfile = config.root / "noxfile.py"
    if not noxfile.exists():  # the workflows run release-train's nox sessions
        write_atomic(noxfile, NOXFILE)
        written.append(noxfile)
    return written


NOXFILE = '''"""nox sessions for releases: build, testpypi, pypi, verify, rehearse."""

import nox

from release.noxsessions import *  # noqa: F403

nox.options.default_venv_backend = "none"  # release-train isolates builds and installs itself
nox.options.sessions = []  # nothing runs by accident: name the session
nox.options.stop_on_first_error = True  # `nox -s build testpypi verify` stops at a failure
'''


def run_init_ci(root: Path, force: bool = False, install: str | None = None) -> str:
    """`invoke init-ci`: what was written, and what GitHub needs besides."""
    paths = write_workflows(root, force=force, install=install)
    lines = [f"wrote {p}" for p in paths]
    lines.append("next: create the GitHub environments testpypi and pypi, and register this "
                 "repository and release.yml / release-candidate.yml as trusted publishers on "
                 "TestPyPI and PyPI")
    return "\n".join(lines)
