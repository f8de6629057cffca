"""Associations edit their records: forms, drawn footprints, review before publishing, history and restores."""
