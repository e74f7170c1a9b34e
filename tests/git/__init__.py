"""Tests of release/git/."""
