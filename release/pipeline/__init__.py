"""The order of a release and its memory: the stages from preflight to downstream, run over
the selected trains and resumable from the record (`stages`), the steps a release needs
(`steps`), validation gates (`gates`), reuse of what was already published (`published`), the
downstream artifact pins (`downstream`) and the rehearsal on a scratch clone against local devpi
indexes (`rehearsal`, `localindex`)."""
