"""Pure rules of Strongbox: no I/O, no clock reads, no imports from other layers."""
