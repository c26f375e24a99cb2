"""BL5xx: caches and background jobs."""
