"""GitHub Actions workflows that run a release with the same nox sessions people run by hand.

`invoke init-ci` writes two workflows into a repository (`release.scaffold` writes them),
computed from its release config:

- `release-candidate.yml`: a pre-release tag (`a`, `b`, `rc`) of any python train builds once,
  uploads to TestPyPI once, then installs back on every runner (ubuntu, plus Windows and macOS
  when the configured platforms name them) x configured Python, and merges the records into
  the platform report;
- `release.yml`: a final or `.postN` tag does the same, then uploads to PyPI once (after every
  TestPyPI job passed, their records merged) and installs back from PyPI on the same matrix.

Each index has exactly one uploading job, the only one holding `id-token: write` (trusted
publishing, in the index's environment): `nox -s testpypi-3.13 -- --upload-only`. Verify jobs
run `nox -s verify-<python>`, the session contributors run locally, and never upload. The
build job's files travel as an artifact, so what is verified and published is byte for byte
what was built; the release records travel with them, each job keeps its own, and `nox -s
report -- --merge DIR` merges them (before the PyPI upload: the sessions' own production rule
reads that TestPyPI verified these very files).

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

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from release.config import Config, Train
from release.errors import ReleaseError
from release.platforms import platform_family
from release.record import DIRECTORY

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


REQUIREMENTS_IN = Path(".github") / "release-train.in"  # what CI installs, as asked
REQUIREMENTS = Path(".github") / "release-train.txt"  # ... locked: exact versions and hashes


def own_checkout(config: Config) -> bool:
    """Is this release-train's own repository (CI installs the checkout itself)?"""
    pyproject = config.root / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        name = data.get("project", {}).get("name")
        return isinstance(name, str) and canonicalize_name(name) == "release-train"
    return False


def default_install(config: Config) -> str:
    """How CI gets release-train: this checkout in release-train's own repository, else the
    hash-locked requirements init-ci writes (never a bare name: a job holding id-token: write
    must not install whatever an index serves under that name today)."""
    return "." if own_checkout(config) else REQUIREMENTS.as_posix()


def _install_command(spec: str) -> str:
    """The install step's shell: the checkout itself, or a hash-locked requirements file."""
    if spec == ".":
        return "python -m pip install --upgrade pip\npython -m pip install .\n"
    if not spec.endswith(".txt"):
        raise WorkflowError(f"CI installs release-train from a hash-locked requirements file "
                            f"(pip --require-hashes), not {spec!r}")
    return f"python -m pip install --require-hashes --no-deps -r {shlex.quote(spec)}\n"


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
    name = "Install release-train" + ("" if spec == "." else " (exact versions, hashes checked)")
    return {"name": name, "run": _install_command(spec)}


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


RUNNERS = {"linux": "ubuntu-latest", "windows": "windows-latest", "macos": "macos-latest"}
CI_RECORDS = "ci-records"  # where a job puts other jobs' records before merging them
REPORT = "platform-report.json"


def runners(config: Config) -> list[str]:
    """The GitHub runners verification runs on: ubuntu always (the uploading machine), then
    Windows and macOS when a configured platform is one of them. A configured platform with
    no runner (aarch64 Linux) gets uv's dry-run resolution, and the report says so."""
    families = {platform_family(p) for p in config.platforms}
    return [RUNNERS["linux"], *(RUNNERS[f] for f in ("windows", "macos") if f in families)]


def upload_python(config: Config) -> str:
    """The Python of the uploading job's session (`testpypi-3.13`): release-train's own when
    it is configured, else the newest configured one (nox names sessions after them)."""
    tool = tool_python(config)
    return tool if tool in config.pythons else config.pythons[-1]


def _merge(pattern: str) -> list[dict[str, Any]]:
    """Other jobs' records, each artifact in its own directory, merged into .release/."""
    return [{"name": f"Fetch {pattern}", "uses": DOWNLOAD_ARTIFACT,
             "with": {"pattern": pattern, "path": CI_RECORDS}},
            {"name": "Merge the release records (nox -s report)",
             "run": f'nox -s report -- --train "$TRAIN" --merge {CI_RECORDS}'}]


def _upload_job(config: Config, spec: str, *, index: str, needs: list[str], title: str,
                records: str | None, merge: str | None) -> dict[str, Any]:
    """The one job that uploads to an index, the only one holding `id-token: write` for it
    (trusted publishing): upload once and wait until the index shows every file."""
    python = upload_python(config)
    return {
        "name": title,
        "needs": needs[0] if len(needs) == 1 else needs,
        "runs-on": RUNNERS["linux"],
        "environment": index,
        "permissions": {"contents": "read", "id-token": "write"},
        "env": {"TRAIN": "${{ needs.build.outputs.train }}"},
        "steps": [
            {"uses": CHECKOUT, "with": {"fetch-depth": 0}},
            _setup(python, tool_python(config)),
            _install(spec),
            _fetch(name=BUILT),
            *([_fetch(name=records, path=RECORDS)] if records else []),
            *(_merge(merge) if merge else []),
            {"name": f"nox -s {index}-{python} -- --upload-only",
             "run": f'nox -s {index}-{python} -- --train "$TRAIN" --upload-only'},
            _keep(f"records-{index}-upload", f"{RECORDS}/", "error"),
        ],
    }


def _verify_job(config: Config, spec: str, *, index: str, needs: list[str],
                title: str) -> dict[str, Any]:
    """Install-back on each runner and Python: the same session a contributor runs locally
    (`nox -s verify-3.12`), on the files the build job made; never an upload, no id-token."""
    return {
        "name": f"{title}, ${{{{ matrix.os }}}}, Python ${{{{ matrix.python }}}}",
        "needs": needs,
        "runs-on": "${{ matrix.os }}",
        "strategy": {"fail-fast": False,
                     "matrix": {"os": runners(config), "python": list(config.pythons)}},
        "defaults": {"run": {"shell": "bash"}},  # the same commands on Windows
        "env": {"TRAIN": "${{ needs.build.outputs.train }}", "PYTHON": "${{ matrix.python }}"},
        "steps": [
            {"uses": CHECKOUT, "with": {"fetch-depth": 0}},
            _setup("${{ matrix.python }}", tool_python(config)),
            _install(spec),
            _fetch(name=BUILT),
            _fetch(name=f"records-{index}-upload", path=RECORDS),
            {"name": "nox -s verify-$PYTHON",
             "run": f'nox -s "verify-$PYTHON" -- --train "$TRAIN" --json {REPORT}'},
            _keep(f"records-verify-{index}-${{{{ matrix.os }}}}-${{{{ matrix.python }}}}",
                  f"{RECORDS}/", "error"),
        ],
    }


def _report_job(config: Config, spec: str, *, index: str, needs: list[str]) -> dict[str, Any]:
    """Every verify job's record merged: the platform x Python table of the release."""
    return {
        "name": "Platform report",
        "needs": needs,
        "if": "${{ !cancelled() }}",  # the table matters most when a cell failed
        "runs-on": RUNNERS["linux"],
        "env": {"TRAIN": "${{ needs.build.outputs.train }}"},
        "steps": [
            {"uses": CHECKOUT, "with": {"fetch-depth": 0}},
            _setup(tool_python(config)),
            _install(spec),
            _fetch(name=f"records-{index}-upload", path=RECORDS),
            {"name": f"Fetch records-verify-{index}-*", "uses": DOWNLOAD_ARTIFACT,
             "with": {"pattern": f"records-verify-{index}-*", "path": CI_RECORDS}},
            {"name": "nox -s report",
             "run": f'nox -s report -- --train "$TRAIN" --merge {CI_RECORDS} --json {REPORT}'},
            _keep("platform-report", f"{REPORT}\n{RECORDS}/\n", "error"),
        ],
    }


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
    """Pre-release tags: build, upload to TestPyPI once, install back per runner and Python,
    merge the records into the platform report."""
    trains = python_trains(config)
    tags = [p for t in trains for p in tag_patterns(t, PRE_MARKERS)]
    return _workflow("release candidate", tags, {
        **_through_testpypi(config, trains, spec),
        "report": _report_job(config, spec, index="testpypi",
                              needs=["build", "verify-testpypi"]),
    })


def _through_testpypi(config: Config, trains: list[Train], spec: str) -> dict[str, Any]:
    """The jobs both workflows begin with: build, upload to TestPyPI once, install back."""
    return {
        "build": _build_job(config, trains, spec),
        "testpypi": _upload_job(config, spec, index="testpypi", needs=["build"],
                                title="Upload to TestPyPI", records=None, merge=None),
        "verify-testpypi": _verify_job(config, spec, index="testpypi",
                                       needs=["build", "testpypi"],
                                       title="Install back from TestPyPI"),
    }


def release(config: Config, spec: str) -> dict[str, Any]:
    """Final and .postN tags: build; TestPyPI once, then every runner and Python; PyPI once
    (only after all of them passed: the merged records say so), then every runner and
    Python again; the platform report."""
    trains = python_trains(config)
    tags = [p for t in trains for p in tag_patterns(t)]
    tags += [f"!{p}" for t in trains for p in tag_patterns(t, NOT_FINAL)]
    return _workflow("release", tags, {
        **_through_testpypi(config, trains, spec),
        "pypi": _upload_job(config, spec, index="pypi", needs=["build", "verify-testpypi"],
                            title="Upload to PyPI", records="records-testpypi-upload",
                            merge="records-verify-testpypi-*"),
        "verify-pypi": _verify_job(config, spec, index="pypi", needs=["build", "pypi"],
                                   title="Install back from PyPI"),
        "report": _report_job(config, spec, index="pypi", needs=["build", "verify-pypi"]),
    })


def render_workflows(config: Config, install: str | None = None) -> dict[Path, str]:
    """Relative path -> YAML text of each workflow."""
    spec = default_install(config) if install is None or not own_checkout(config) else install
    return {
        WORKFLOWS_DIR / RC_WORKFLOW: to_yaml(release_candidate(config, spec), HEADER),
        WORKFLOWS_DIR / FINAL_WORKFLOW: to_yaml(release(config, spec), HEADER),
    }


