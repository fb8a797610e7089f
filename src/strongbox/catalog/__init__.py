"""The catalog: what Strongbox knows (storages, databases, backups, tokens), in SQLAlchemy."""
