"""BL6xx: repository hygiene."""
