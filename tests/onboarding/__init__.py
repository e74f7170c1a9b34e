"""Tests of release/onboarding/."""
