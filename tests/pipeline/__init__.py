"""Tests of release/pipeline/."""
