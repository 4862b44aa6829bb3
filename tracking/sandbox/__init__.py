"""The sandbox: a deterministic simulated world served in each carrier's real wire format."""
