"""Tests of release/build/."""
