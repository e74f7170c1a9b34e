"""Computer vision for skyline."""

__version__ = "1.2.0"
