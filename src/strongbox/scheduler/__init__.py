"""The scheduler: turns due schedule slots into backups (leader-only in a scale-out setup)."""
