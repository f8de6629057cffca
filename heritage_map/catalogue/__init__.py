"""The catalogue: the records (models, vocabularies, the layer registry) and how they are read (queries, GeoJSON)."""
