"""Found first on PYTHONPATH by every process the tests start (tests/conftest.py puts it there);
it acts only in devpi-server and devpi-init, the stand-ins for TestPyPI and PyPI: their users'
passwords are hashed with argon2 at its lowest cost.

devpi hashes a user's password when it creates the user and checks it at every login and every
upload sent with the password (the canary tests upload with it): ~0.15 s of CPU each at
passlib's defaults, which made devpi a fifth of the suite's CPU. release-train never sees the
difference: the accounts, tokens and refusals are the same. (Like release-train's own
FAST_ARGON2 for the server secret, it only turns a cost down.)
"""

import os
import sys

if os.path.basename(sys.argv[0] if sys.argv else "") in ("devpi-server", "devpi-init"):
    import devpi_server.auth
    from passlib.context import CryptContext

    devpi_server.auth.pwd_context = CryptContext(
        schemes=["argon2"], deprecated="auto", argon2__rounds=1, argon2__memory_cost=8,
        argon2__parallelism=1)
