"""BL3xx: transport security and web application configuration."""
