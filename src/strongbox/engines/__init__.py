"""Database engines: one module per engine behind the `Engine` protocol."""
