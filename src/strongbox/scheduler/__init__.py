"""The scheduler's thread: wakes when a schedule slot is due and has `services/schedule_runs`
turn it into a backup."""
