"""Core data types for skyline."""
