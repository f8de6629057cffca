"""The embedded default database: a private PostgreSQL + PostGIS cluster in a data folder."""
