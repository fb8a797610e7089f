"""The catalog: what Strongbox knows (tokens, storages, databases, backups, restores,
schedules and their runs), in SQLAlchemy."""
