"""Database engines: one package per engine kind (`postgresql`, `mysql`) behind the `Engine`
protocol of `base`, each declaring its kind for `registry`."""
