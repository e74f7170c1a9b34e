"""Tests of release/announce/."""
