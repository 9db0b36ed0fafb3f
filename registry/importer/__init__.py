"""Bulk import of leaked client lists: read, map, check, match, store."""
