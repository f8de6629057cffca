"""Walking trails: their SQL, their GPX files and their pages."""
