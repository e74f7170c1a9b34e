"""Image loading for skyline."""

__version__ = "1.2.0"
