"""Telling people: release notes from change fragments, commits and the record (`notes`) and
the GitHub release of a tag (`github`)."""
