"""Photos of sites and projects: checked by content, re-encoded without metadata, served by their checked type."""
