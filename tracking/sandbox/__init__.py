"""The sandbox: a deterministic simulated world served in each carrier's real wire format, so
the demo, the tests and the benchmarks pull without credentials or network. Each carrier's
`sandbox.py` (in `carriers/`) renders its wire format from this world.
"""
