"""Telling people: release notes gathered from change fragments, commits and the record
(`notes`), rendered as Markdown by a pure function (`render`), and the GitHub release of a tag
(`github`)."""
