"""The store: the only place in the registry that holds SQL."""
