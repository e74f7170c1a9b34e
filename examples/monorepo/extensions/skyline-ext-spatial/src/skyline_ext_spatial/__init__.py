"""Spatial indexing for skyline."""
