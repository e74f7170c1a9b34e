"""Tests of release/commands/."""
