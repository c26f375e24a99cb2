"""One rule per module, grouped by family. Modules here are found automatically."""
