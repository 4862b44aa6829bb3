"""`serve` (the HTTP API with its refresh schedule) and `sandbox` (the sandbox carrier server)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated

import typer

from carriers.base import CarrierInfo
from carriers.kit.network import Network
from carriers.registry import all_carriers
from tracking.cli.common import as_of, err, errors, open_db, policy, repeatable, settings
from tracking.core.config import Settings, load_carrier_settings
from tracking.core.exceptions import TrackingError
from tracking.fetch.pipeline import refresh
from tracking.sandbox.server import SandboxOptions, SandboxServer, sandbox_network

__all__ = ["choose_network", "sandbox_command", "sandbox_server", "serve_command"]


def _latency(value: str) -> tuple[float, float]:
    try:
        if "-" in value:
            low, high = (float(v) for v in value.split("-", 1))
        else:
            low = high = float(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a latency (use 100 or 50-150)", param_hint="--latency-ms"
        ) from None
    if low < 0 or high < low:
        raise typer.BadParameter("latency must be 0 <= low <= high", param_hint="--latency-ms")
    return low, high


def sandbox_server(
    carriers: dict[str, CarrierInfo],
    *,
    settings: Settings,
    as_of: datetime | None,
    latency: str,
    fault_rate: float = 0.0,
    enforce_limits: bool = True,
    blocked: frozenset[str] = frozenset(),
) -> SandboxServer:
    """The in-process sandbox, enforcing the same per-carrier rates the client is set to."""
    rates: dict[str, float] = {}
    for code, info in carriers.items():
        configured = load_carrier_settings(info.settings_model, settings=settings, code=code)
        if configured.rate_per_second:
            rates[code] = configured.rate_per_second
    return SandboxServer(
        carriers,
        SandboxOptions(
            latency_ms=_latency(latency),
            now=as_of,
            fault_5xx=fault_rate,
            rate_limits=rates,
            enforce_limits=enforce_limits,
            blocked=blocked,
        ),
    )


def choose_network(
    carriers: dict[str, CarrierInfo],
    current: Settings,
    *,
    sandbox: bool,
    sandbox_url: str | None = None,
    as_of: datetime | None = None,
    latency: str = "0",
) -> Network | None:
    """Where a command's requests go: the in-process sandbox (`--sandbox`), a running one
    (`--sandbox-url`), or the carriers' real APIs (None)."""
    if sandbox:
        return sandbox_server(carriers, settings=current, as_of=as_of, latency=latency).network()
    if sandbox_url is not None:
        return sandbox_network(sandbox_url, carriers)
    return None


HostOption = Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")]
PortOption = Annotated[
    int, typer.Option(min=0, max=65535, metavar="PORT", help="Port to listen on.")
]


def serve_command(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    refresh_minutes: Annotated[
        float,
        typer.Option(
            min=0.0, metavar="N", help="Poll due shipments every N minutes (0: no schedule)."
        ),
    ] = 15.0,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Pulls and refreshes use the built-in sandbox.")
    ] = False,
) -> None:
    """Serve the HTTP API under /v1 (OpenAPI at /openapi.json) and the seller's console at /,
    with the refresh schedule."""
    from tracking.api import ApiOptions, serve

    with errors():
        current = settings()
        carriers = all_carriers()
        network = choose_network(carriers, current, sandbox=sandbox)

        async def refresh_forever() -> None:
            engine = open_db(current, create=True)  # a server may start on an empty database
            try:
                while True:
                    try:
                        await refresh(
                            engine=engine,
                            settings=current,
                            carriers=carriers,
                            as_of=datetime.now(UTC),
                            policy=policy(None, current),
                            network=network,
                        )
                    except TrackingError as exc:
                        logging.getLogger("tracking.serve").warning("refresh failed: %s", exc)
                    await asyncio.sleep(refresh_minutes * 60)
            finally:
                engine.dispose()

        err.print(f"serving on http://{host}:{port}/v1 (OpenAPI: /openapi.json)")
        err.print(f"the seller's console: http://{host}:{port}/ (sign in with an API key)")
        serve(
            current,
            host=host,
            port=port,
            options=ApiOptions(data_dir=current.data_dir, job_concurrency=current.job_concurrency),
            network=network,
            background=refresh_forever if refresh_minutes > 0 else None,
        )


def sandbox_command(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8765,
    latency_ms: Annotated[
        str, typer.Option(metavar="MS", help="Per-request latency, e.g. 50-150.")
    ] = "0",
    fault_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, metavar="F", help="Share of requests answered with a 5xx."),
    ] = 0.0,
    pin_as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="Pin the world's clock, e.g. 2026-11-20."),
    ] = None,
    no_limits: Annotated[
        bool, typer.Option("--no-limits", help="Do not enforce carrier rate limits.")
    ] = False,
    block: Annotated[
        list[str] | None,
        repeatable("CARRIER", "Answer this carrier with an anti-bot challenge page"),
    ] = None,
) -> None:
    """Run the sandbox carrier server (each carrier's real wire format, simulated world)."""
    import uvicorn

    with errors():
        server = sandbox_server(
            all_carriers(),
            settings=settings(),
            as_of=as_of(pin_as_of) if pin_as_of else None,
            latency=latency_ms,
            fault_rate=fault_rate,
            enforce_limits=not no_limits,
            blocked=frozenset(block or ()),
        )
        err.print(
            f"sandbox carriers: {', '.join(server.carriers)}; listening on http://{host}:{port}"
        )
        uvicorn.run(server.app, host=host, port=port, log_level="warning")
