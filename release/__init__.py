"""release-train: release automation for multi-package Python repositories."""

__version__ = "0.1.0.dev1"
