"""Tests of release/verify/."""
