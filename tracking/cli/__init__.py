"""The `track-evidence` command line."""
