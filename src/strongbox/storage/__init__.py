"""Backup storages: one module per backend behind the `BackupStorage` protocol."""
