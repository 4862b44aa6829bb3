"""The carriers' shared kit: what every carrier package uses, written once.

```
carriers/kit/
  factory.py    create_adapter(carrier, settings, transport=...): the one way to build an
                adapter, from the registry, over any httpx transport
  adapter.py    HttpAdapter: the settings / HTTP layer / base URL / batch size every adapter has
  matching.py   Requested, same_number: which requested number an answer speaks of
                (through `tracking.core.numbers.normalize_number`, as ingest stores it)
  envelopes.py  bodies read into per-number results (CamelModel for camelCase JSON);
                error envelopes and HTTP statuses as typed failures of a whole batch
  outcomes.py   not_found, side_country: a number the carrier does not know; the country an
                event happens in, from its stage's side
  network.py    Network: where requests go (an httpx transport) and the accounts that reach
                it; how the sandbox is reached, instead of flags
  simulated.py  SimShipment & co.: the data the sandbox world hands a carrier's renderer
  sandboxes.py  listed_numbers, at_most: the numbers a sandbox request asks for, capped
  tables.py     StatusRow, StatusTable, read_table: a carrier's status codes from its
                `statuses.toml` (each code's stage, and the sandbox's wording), one table
                for its parser and its sandbox
```

Boundaries: the kit, like every carrier package, imports only `tracking.core`, the
carriers' contract (`carriers.base`) and HTTP layer (`carriers.http`); never the store,
the sandbox world, the API or the CLI (tests/test_architecture.py checks it).
"""

from carriers.kit.adapter import HttpAdapter
from carriers.kit.envelopes import (
    CamelModel,
    answer_error,
    answer_results,
    batch_failure,
    batch_results,
    envelope_error,
    http_status_error,
    json_object,
    kept_exchanges,
    shape_error,
    validate_json_body,
    validate_object,
)
from carriers.kit.factory import carrier_settings, create_adapter
from carriers.kit.matching import Requested, same_number
from carriers.kit.network import Network
from carriers.kit.outcomes import not_found, side_country
from carriers.kit.simulated import LAST_MILE, AskedShipments, SimEvent, SimLeg, SimShipment

__all__ = [
    "LAST_MILE",
    "AskedShipments",
    "CamelModel",
    "HttpAdapter",
    "Network",
    "Requested",
    "SimEvent",
    "SimLeg",
    "SimShipment",
    "answer_error",
    "answer_results",
    "batch_failure",
    "batch_results",
    "carrier_settings",
    "create_adapter",
    "envelope_error",
    "http_status_error",
    "json_object",
    "kept_exchanges",
    "not_found",
    "same_number",
    "shape_error",
    "side_country",
    "validate_json_body",
    "validate_object",
]
