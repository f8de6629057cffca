"""The GeoJSON API of the published records and their exports as files."""
