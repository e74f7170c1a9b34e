"""invoke tasks of release-train: wiring only; the logic lives in the `release` package."""

from release.cli import namespace as ns

__all__ = ["ns"]
