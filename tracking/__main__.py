"""`python -m tracking` runs the command line."""

from tracking.cli import main

main()
