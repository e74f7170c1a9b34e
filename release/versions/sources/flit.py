"""flit_core: a dynamic version is the module's `__version__`."""

from __future__ import annotations

from release.errors import ConfigError
from release.versions.sources.base import Found, Project


def find(p: Project) -> Found | None:
    if not p.dynamic_version or not p.backend.startswith("flit_core"):
        return None
    module = p.tool("flit", "module").get("name")
    module = module if isinstance(module, str) else p.name.replace("-", "_").replace(".", "_")
    parts = module.split(".")
    for base in (p.dir / "src", p.dir):
        for file in (base.joinpath(*parts) / "__init__.py",
                     base.joinpath(*parts[:-1]) / f"{parts[-1]}.py"):
            if file.is_file():
                return Found("flit module __version__", p.version_file(file, f"of {p.name}"),
                             (file,))
    raise ConfigError(f"{p.pyproject}: flit module {module!r} of {p.name} not found "
                      "(set [tool.flit.module] name)")
