"""The SQL front end: statements from `.sql` files and from Python strings, parsed by sqlglot."""
