"""The `strongbox` command: `serve`, and client commands that talk to the REST API."""
