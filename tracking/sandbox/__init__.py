"""The sandbox: a deterministic simulated world served in each carrier's real wire format.

```
tracking/sandbox/
  world.py    World: the story a tracking number decides (scenario, destination, events),
              handed to the carriers' renderers as `carriers.kit.SimShipment` data
  server.py   SandboxServer: every carrier with a `sandbox.py` renderer under /<code>, with
              latency, rate limits and faults; `.network()` reaches it in-process (an
              `httpx.ASGITransport`), `sandbox_network(url)` a running `track-evidence sandbox`
```

Nothing below the CLI, API and worker knows a sandbox exists: they hand the fetcher a
`carriers.kit.Network`, and carriers' renderers never import the world.
"""
