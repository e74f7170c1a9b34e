"""Structural analysis for skyline."""
