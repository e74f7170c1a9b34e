"""The stages of a release, one module per part of the way: `commit` (preflight, manual
checkpoints, bump, commit, gates, tag, push), `publish` (build, uploads, the production rules),
`verification` (install-back, propagation, smoke), `ci` (handing the tag to GitHub Actions) and
`closing` (downstream pins, notes, the summary). Each stage takes a `Release` and journals
itself in every train's record (`release.pipeline.release.run_stage`); `release.pipeline.order`
runs them in order."""
