"""Building a release: every package of a train from a clean worktree of one commit
(`frontend`, the step), one job per package (`jobs`) run in cached build environments
(`environments`) by `_runner.py`, which calls the PEP 517 hooks inside them; what was built,
with sizes and hashes (`manifest`); and what differs between two builds of one commit
(`distdiff`)."""
