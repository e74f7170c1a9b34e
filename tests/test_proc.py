"""Subprocesses go through release.proc.run with argv lists: no command line is ever handed
to a shell, anywhere in the code or its tests (ruff and mypy run from `nox -s lint` and
.ci/run, not from here)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "release", ROOT / "tasks.py", ROOT / "noxfile.py", ROOT / "bench",
           ROOT / "tests"]


def test_no_shell_true_anywhere() -> None:
    offenders = []
    for base in SOURCES:
        files = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in files:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.keyword) and node.arg == "shell":
                    if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.value.lineno}")
                if isinstance(node, ast.Attribute) and node.attr in ("system", "popen") \
                        and isinstance(node.value, ast.Name) and node.value.id == "os":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} os.{node.attr}")
    assert offenders == []
