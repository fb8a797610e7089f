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
    "fixtures.catalogs",
]

from hypothesis import settings  # noqa: E402

# Examples are not timed: on a loaded machine a slow example is not a failure, and tests carry
# no timed assertions.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")
