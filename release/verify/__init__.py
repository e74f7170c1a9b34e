"""Proving a release installs: the Pythons we install back on (`interpreters`), fresh
environments filled from an index with every file compared to the wheel we built (`installs`),
the other trains' pins (`crosspins`), smoke commands (`smoke`) and the report per index,
Python and platform (`report`)."""
