"""release-train's tests: tests/<stage>/ holds the tests of release/<stage>/, the ground floor's
(and the single modules' above it) sit here, tests/helpers/ holds what they share."""
