"""Execution of jobs (backups now; restores, retention and log streaming later)."""
