"""The command layer: every `invoke` task and `nox` session adapter. Each adapter loads the
configuration, picks the train (`Config.pick`, the one picker), runs the stage below and returns
the lines to print; the wiring in `cli.py` and `sessions.py` turns failures into one line."""
