"""Execution: the worker threads that carry out backups and restores, and the periodic
background steps (the janitor that retries cleanups)."""
