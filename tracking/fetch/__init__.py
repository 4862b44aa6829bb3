"""Fetching: the pull and refresh use cases, over a fetcher and a group-commit writer.

Map (each module's docstring says more):

* `pipeline` - the use cases the CLI, the API's jobs and the workers call: `pull` (orders file
  or stored orders -> fetch -> store -> judge), `refresh` (every due shipment) and `poll` (given
  shipments of one carrier: a worker's batch job).
* `orders` - orders in: each row's carrier chosen (`choose_carrier`), rows stored in chunks.
* `fetcher` - `open_fetcher`: one adapter and HTTP client per carrier under its rate limit;
  `last_mile_carrier`, the one rule naming who tracks revealed last-mile legs.
* `writer` - `fetch_all`: every carrier fetched at once, answers stored by a group-commit
  writer on one database thread.
* `report` - `PullReport`, what a run did (`pull --json`), and the progress hook.
* `limits` - carrier rate limits shared across worker processes (PostgreSQL or Redis).
* `tenant_carriers` - tenants' own carrier accounts.
* `pushes` - 17TRACK pushes in, stored and judged like a fetched answer.

The SQL of these steps lives in `tracking.store` (`repository`, `polls`, `runs`).
"""
