"""What the registry does: submit, approve, curate, publish, release, seed, back up and
check. Services take rules from registry.rules and reach the databases through
registry.store only."""
