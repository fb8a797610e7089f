#!/usr/bin/env bash
# Sets up a fresh machine for Strongbox: the system tools it drives (PostgreSQL and MariaDB clients,
# and for the tests their servers), a virtual environment in .venv and the package in it.
# Sourced by serve.sh and test.sh; safe to run again (it skips what is already there).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_test_tools="${1:-}"

need_pkgs=()
command -v pg_dump >/dev/null 2>&1 || need_pkgs+=(postgresql-client)
command -v mariadb-dump >/dev/null 2>&1 || command -v mysqldump >/dev/null 2>&1 || need_pkgs+=(mariadb-client)
command -v zstd >/dev/null 2>&1 || need_pkgs+=(zstd)
if [ "$want_test_tools" = "--test" ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_pkgs+=(mariadb-server)
  # Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
  [ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
  # Encrypted backups are checked against the standard age tool.
  command -v age >/dev/null 2>&1 || need_pkgs+=(age)
fi
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system packages: ${need_pkgs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "missing system packages: ${need_pkgs[*]}; install them with: sudo apt-get install ${need_pkgs[*]}" >&2
    exit 1
  fi
fi

python="${PYTHON:-python3}"
if [ ! -x "$root/.venv/bin/python" ]; then
  "$python" -m venv "$root/.venv"
fi
# Reinstall only when the dependencies changed.
stamp="$root/.venv/.strongbox-installed"
fingerprint="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$fingerprint" ]; then
  "$root/.venv/bin/python" -m pip install -q --upgrade pip
  "$root/.venv/bin/python" -m pip install -q -e "$root[dev]"
  echo "$fingerprint" > "$stamp"
fi
