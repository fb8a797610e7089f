#!/usr/bin/env bash
# Set everything up, then run the whole suite: lint, types, and every test (unit and integration
# against throwaway PostgreSQL, MariaDB and SeaweedFS servers). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Two workers, each with its own throwaway servers; a module stays on one worker so that its
# shared servers start once.
exec .venv/bin/pytest -n 2 --dist loadfile "$@"
