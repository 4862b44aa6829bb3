"""Cassettes: recorded carrier exchanges (invented values), replayed through respx.

A cassette is `cassettes/<carrier>/<scenario>.yaml`:

```yaml
carrier: cainiao
scenario: delivered
note: invented values in the real API's shape
volatile_params: [timestamp]           # optional: query parameters not matched on replay
interactions:
  - request: {method: GET, url: "https://...?...", headers: {...}, body: null}
    response: {status: 200, headers: {content-type: ...}, body: "..."}
expect:
  - number: LP00...
    stages: [picked_up, ...]           # chronological
    milestones: {departed_origin: "2026-...Z", arrived_destination: null, delivered: null}
    final: false
    error: null                         # or not_found, auth, rate_limited, bad_payload...
    unknown_codes: []                   # codes allowed to map to `unknown`, with `why`
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import respx
import yaml

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"


@dataclass
class Expectation:
    number: str
    stages: list[str] = field(default_factory=list)
    milestones: dict[str, str | None] = field(default_factory=dict)
    final: bool = False
    error: str | None = None
    unknown_codes: list[str] = field(default_factory=list)
    legs: list[str] = field(default_factory=list)


@dataclass
class Cassette:
    path: Path
    carrier: str
    scenario: str
    interactions: list[dict[str, Any]]
    expect: list[Expectation]
    volatile_params: tuple[str, ...] = ()

    @property
    def numbers(self) -> list[str]:
        return [e.number for e in self.expect]

    def mount(self, router: respx.MockRouter) -> list[respx.Route]:
        """Route each recorded request to its recorded response, in order of use."""
        routes: list[respx.Route] = []
        by_key: dict[tuple[str, str], list[httpx.Response]] = {}
        for item in self.interactions:
            req, resp = item["request"], item["response"]
            body = resp.get("body")
            content = body.encode("utf-8") if isinstance(body, str) else b""
            response = httpx.Response(
                resp["status"], headers=resp.get("headers") or {}, content=content
            )
            by_key.setdefault((req["method"].upper(), _url_key(req["url"])), []).append(response)
        for (method, url), responses in by_key.items():
            parsed = httpx.URL(url)
            # Redacted values (keys, signatures) and volatile ones (timestamps) differ on
            # every live request; the rest of the query must match.
            params = {
                k: v
                for k, v in parsed.params.items()
                if v != "[REDACTED]" and k not in self.volatile_params
            }
            route = router.route(
                method=method,
                scheme=parsed.scheme,
                host=parsed.host,
                path=parsed.path,
                params=params,
            )
            route.side_effect = _replayer(url, responses)
            routes.append(route)
        return routes


def _url_key(url: str) -> str:
    return str(httpx.URL(url))


def _replayer(url: str, responses: list[httpx.Response]) -> Any:
    queue = list(responses)

    def reply(request: httpx.Request) -> httpx.Response:
        if not queue:
            raise AssertionError(f"cassette has no more responses for {url}")
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return reply


def load(path: Path) -> Cassette:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Cassette(
        path=path,
        carrier=data["carrier"],
        scenario=data["scenario"],
        interactions=data["interactions"],
        expect=[Expectation(**e) for e in data.get("expect", [])],
        volatile_params=tuple(data.get("volatile_params", ())),
    )


def cassettes_for(carrier: str) -> list[Path]:
    return sorted((CASSETTES / carrier).glob("*.yaml"))
