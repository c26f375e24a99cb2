"""BL9xx: what the engine itself reports."""
