"""The `track-evidence` command line (typer): one module per command group over a small common
module. A command parses its options and calls a use-case function from `fetch`, `read`,
`evidence` or `store`; it never writes SQL itself. An entry point: no other package imports it.
"""
