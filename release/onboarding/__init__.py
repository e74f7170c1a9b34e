"""`release-train init`: inspect a repository and propose a starting release configuration.

The proposal is computed from what the repository already says: its packages and where each
keeps its version (`packages`: the same discovery a bump uses), the versions they share
(packages at one version form one train) and the tag style the repository's own tags use
(`trains`), and the lines the audit finds carrying a train's version, which become occurrences
(`proposal`). `writing` then writes it as short as it can be: one glob per directory whose
packages all belong to the train. The command itself is `release.commands.setup.run_init`.
"""
