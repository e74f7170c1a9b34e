"""Release steps on the repository: the checks before a release (`preflight`: clean tree,
branch, upstream, tag free, version newer), the one tag and the one push (`tagging`) and the
release-branch flow (`branches`: branch, freeze, betas, final). Plain git commands live on the
ground floor (`release.repo`, and `release.worktrees` for checkouts beside the work tree),
because version sources read tags and tracked files too."""
