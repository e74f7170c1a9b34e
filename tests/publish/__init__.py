"""Tests of release/publish/."""
