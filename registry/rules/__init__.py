"""Pure rules: what a valid record, field, name or country is. No I/O, no SQL, no Flask."""
