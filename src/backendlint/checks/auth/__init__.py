"""BL2xx: authentication, secrets, passwords, tokens, cookies and logs."""
