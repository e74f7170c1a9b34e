"""The fault matrix: what goes wrong during a release, what the user sees, what is left, how to
go on. The table (table.py) is docs/faults.md; each row is a scenario in one of *_faults.py, run
by test_matrix.py against real parts: devpi-server behind a fault-injecting proxy
(tests/helpers/proxy.py), real git, real builds, real installs."""
