"""`python -m tracking` runs the command line."""

from tracking.cli.app import main

main()
