"""The skyline application."""

__version__ = "0.4.2"
