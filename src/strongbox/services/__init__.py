"""Use cases of Strongbox, shared by the REST API, the web page and the CLI (through the API)."""
