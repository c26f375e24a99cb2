"""BL4xx: API design."""
