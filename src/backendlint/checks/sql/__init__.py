"""BL1xx: SQL and data access."""
