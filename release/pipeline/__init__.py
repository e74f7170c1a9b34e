"""The order of a release and its memory: one release, stage by stage, over the selected trains
and resumable from the record. `release` holds what a run releases and journals each stage;
`stages/` the stages themselves (commit, publish, verification, ci, closing); `order` runs them
in order (or describes the plan); the steps a release needs (`steps`), validation gates
(`gates`), the agreement of records and manifests (`artifacts`), reuse of what was already
published (`published`), the downstream artifact pins (`downstream`) and the rehearsal on a
scratch clone against local devpi indexes (`rehearsal`, `localindex`)."""
