"""What the tests share, so that no test module imports another: scratch repositories (repos,
onetrain, layouts), the commands as users type them (commands), packages built once (dists),
the fault-injecting proxy (proxy), the canary token and the indexes it unlocks (canary), fresh
indexes on a shared devpi-server (indexes) and a GitHub stand-in (github). The fixtures made of
them are in tests/conftest.py."""
