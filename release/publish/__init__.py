"""Talking to package indexes: where they are and whose token they take (`endpoints`), the
simple-API client (`index`) with its deadlines (`timeouts`), whether a version is still free
(`availability`), concurrent resumable uploads through twine (`uploads`) and waiting until
uploaded files are visible (`visibility`)."""
