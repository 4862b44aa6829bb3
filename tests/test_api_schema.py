"""Schemathesis over the published OpenAPI document: no 5xx, no response that breaks the schema.

Deterministic under `make test` (a fixed seed); `make fuzz` runs it with fresh seeds and
many more examples (tests/fuzzing.py). Bounded: `MAX_EXAMPLES` cases for each of the 14
paths' 17 operations (about 250 cases, well under a minute). Each operation gets a fresh
database and app. Jobs and webhook deliveries are off, so generated pulls never reach a
carrier and generated webhooks are never called.

The `positive_data_acceptance` check is off: values the schema cannot express (a cursor this
API did not issue, an unknown carrier code or policy) are rightly refused with a 422.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import ASGIClient, shutdown_lifespans

from tests.fuzzing import SCHEMATHESIS_SEED, examples
from tracking.api import ApiOptions, create_app, create_key
from tracking.core.config import Settings

MAX_EXAMPLES = examples(15)  # fixed seed under `make test`; many more, fresh, under `make fuzz`
COVERAGE_PHASE = False  # every boundary case of the schema: ~1,200 requests; on to dig deeper

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


class CurrentApp:
    """The ASGI app schemathesis calls: forwards each request to the running test's app.

    Schemathesis binds a schema to one app, and this module's schema is built at import;
    each test starts its own app (fresh database) and plugs it in here.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(
        self,
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":  # the real app's lifespan is run by the fixture
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.app is not None, "no app is running"
        await self.app(scope, receive, send)


def _settings() -> Settings:
    return Settings(_env_file=None, database_url="sqlite://")  # type: ignore[call-arg]


CURRENT = CurrentApp()
# The document only: building the app touches no database (that happens at startup).
schema = schemathesis.openapi.from_dict(
    create_app(_settings()).openapi(),
    config=schemathesis.Config.from_dict(
        {
            **({"seed": SCHEMATHESIS_SEED} if SCHEMATHESIS_SEED is not None else {}),
            "checks": {"positive_data_acceptance": {"enabled": False}},
            "phases": {"coverage": {"enabled": COVERAGE_PHASE}},
        }
    ),
)
schema.app = CURRENT


@pytest.fixture
def api_key(sqlite_url: str, make_engine: Any, tmp_path: Path) -> Iterator[str]:
    """A running app on a fresh database, plugged into `CURRENT`; a valid key of one tenant."""
    engine: sa.Engine = make_engine(sqlite_url)
    app = create_app(
        _settings(),
        engine=engine,
        options=ApiOptions(data_dir=tmp_path / "data", run_jobs=False, deliver_webhooks=False),
    )
    try:
        with ASGIClient(app):  # starts the app's lifespan on schemathesis' event loop
            CURRENT.app = app
            yield create_key(engine, "shop-a")
    finally:
        CURRENT.app = None
        shutdown_lifespans()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_within_its_schema(case: Any, api_key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"})
