#!/usr/bin/env bash
# Set everything up, then run Strongbox with its embedded defaults (SQLite catalog in
# ./strongbox-data, API and web page on http://127.0.0.1:8080). Arguments go to `strongbox serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/strongbox serve "$@"
