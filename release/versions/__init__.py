"""Versions in the files: the PEP 440 model and its one grammar as people write it (`pep440`),
where each train's version lives (`sources/` per build backend, `spots`, `scan`), whether they
all agree (`agreement`), what a bump changes (`plan`) and how the change is written (`edits`:
one all-or-nothing transaction; lock files in `lockfiles`), the unmanaged lines that carry a
version (`audit`) and the occurrences that would manage them (`suggest`), and which trains
changed since their last tag (`changes`). Reads the repository through `release.repo`; knows
nothing of builds, indexes or the release order."""
