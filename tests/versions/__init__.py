"""Tests of release/versions/."""
