"""Shared fixtures. Real servers (PostgreSQL, MariaDB, SeaweedFS) are started by the plugins in
`tests/fixtures/`, each from installed binaries, with its own data folder and free ports."""

pytest_plugins = [
    "fixtures.ports",
    "fixtures.tls",
    "fixtures.seaweed",
    "fixtures.postgres",
    "fixtures.mariadb",
    "fixtures.app",
    "fixtures.instances",
]
