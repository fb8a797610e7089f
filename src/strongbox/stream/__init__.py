"""A backup's stream in a small process of its own: `child` runs there, `runner` starts it from
the server (or worker) that runs the backup, `protocol` is what they say to each other."""
