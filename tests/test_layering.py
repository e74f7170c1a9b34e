"""The layout is enforced, not only documented: every import of a `release` module points down
the layer order (or sideways inside one layer), and no module imports itself back through others.

Imports inside functions count too: a lazy import is still an arrow."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "release"

# Bottom to top. A module belongs to the longest prefix that names it.
LAYERS: list[tuple[str, ...]] = [
    ("release", "release.errors", "release.redaction", "release.proc", "release.confine",
     "release.logs", "release.platforms", "release.lock", "release.config", "release.repo",
     "release.worktrees", "release.record"),
    ("release.versions",),
    ("release.git",),
    ("release.build",),
    ("release.publish",),
    ("release.verify",),
    ("release.announce", "release.workflows", "release.scaffold", "release.onboarding"),
    ("release.pipeline",),
    ("release.commands",),
    ("release.cli", "release.program", "release.sessions", "release.noxsessions"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module.startswith(prefix + ".") and prefix != "release"
            if (module == prefix or inside) and len(prefix) > best:
                best, rank = len(prefix), i
    if rank < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return rank


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> Iterator[tuple[int, str]]:
    """(line, imported release module) for every import in the module, lazy ones included."""
    path = MODULES[module]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path.name == "__init__.py", node)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name.startswith("release") and name != module:
                yield node.lineno, name


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_import_points_up_the_layers() -> None:
    upward = sorted({f"{MODULES[m].relative_to(PACKAGE.parent)}:{line}: {m} imports {target}"
              for m in MODULES for line, target in imports(m)
              if layer_of(target) > layer_of(m) and not _is_parent(target, m)})
    assert not upward, "imports that point up the layer order:\n" + "\n".join(upward)


def _is_parent(target: str, module: str) -> bool:
    """Importing a submodule runs its package's `__init__`, a docstring: not an arrow."""
    return module.startswith(target + ".")


def test_no_import_cycles() -> None:
    graph = {m: {t for _, t in imports(m) if not _is_parent(t, m)} for m in MODULES}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_check_itself_sees_an_upward_import(tmp_path: Path) -> None:
    """The walker is not blind: a build module importing the pipeline is an upward arrow."""
    source = "from release.pipeline import stages\nfrom ..pipeline.record import x\n"
    tree = ast.parse(source)
    found = [_resolve("release.build.frontend", False, n) for n in ast.walk(tree)
             if isinstance(n, ast.ImportFrom)]
    assert found == ["release.pipeline", "release.pipeline.record"]
    assert all(layer_of(f) > layer_of("release.build.frontend") for f in found)
