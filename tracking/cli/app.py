"""The `track-evidence` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from carriers.base import CarrierInfo
from carriers.registry import all_carriers, get_carrier
from tracking import __version__
from tracking.cli.console import register as register_console
from tracking.cli.groups import groups_app
from tracking.core.config import Settings, get_settings, load_carrier_settings
from tracking.core.domain import CarrierFailure, TrackResult
from tracking.core.exceptions import CarrierError, ConfigError, TrackingError
from tracking.core.numbers import detect
from tracking.core.redaction import install_log_redaction, redact
from tracking.core.runtime import tune_gc
from tracking.fetch.pipeline import ProgressHook, PullReport, pull, refresh
from tracking.ingest import open_orders
from tracking.ingest.describe import parse_maps, read_line
from tracking.ingest.profiles.cli import register as register_formats
from tracking.judge.milestones import chronological, milestone_times
from tracking.judge.policies import POLICIES, Policy, resolve_policy
from tracking.read.report import register as register_report
from tracking.read.report import rejudge
from tracking.sandbox.server import SandboxOptions, SandboxServer
from tracking.store.handles import table_of
from tracking.store.parcels import further_numbers, status_parcels
from tracking.store.storage import OrderRecord, ShipmentRecord, VerdictRecord, open_engine
from tracking.workers.blueprint import register as register_workers

__all__ = ["app", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TAMPERED = 0, 1, 2, 3

app = typer.Typer(
    name="track-evidence",
    help="Collect carrier tracking evidence (departed, arrived, delivered) for appeals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state: dict[str, Any] = {"db": None, "debug": False}
err = Console(stderr=True, soft_wrap=True, highlight=False)


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


@app.callback()
def _main(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (default: sqlite:///./track-evidence.db).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show internal errors in full.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Collect carrier tracking evidence for marketplace appeals."""
    if version:
        typer.echo(f"track-evidence {__version__}")
        raise typer.Exit(0)
    _state["db"] = db
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, stream=sys.stderr)
    install_log_redaction()  # `--debug` logs carrier URLs: never their keys


def _settings() -> Settings:
    settings = get_settings()
    if _state["db"]:
        settings = settings.model_copy(update={"database_url": _state["db"]})
    return settings


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    text = escape(redact(message))  # a carrier's echo of a key never reaches the terminal
    err.print(f"[bold red]error:[/] {text}", markup=True, highlight=False)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn every failure into one clear line and an exit code; never a traceback."""
    try:
        yield
    except (typer.Exit, click.exceptions.UsageError):
        raise
    except KeyboardInterrupt:
        err.print("interrupted: nothing half-written was kept; run the same command to continue")
        raise typer.Exit(130) from None
    except TrackingError as exc:
        _fail(str(exc))
    except Exception as exc:
        if _state["debug"]:
            err.print(escape(redact(traceback.format_exc())), highlight=False)
            raise typer.Exit(EXIT_FAILED) from None
        _fail(f"internal error ({type(exc).__name__}: {exc}); re-run with --debug for details")


def _as_of(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (use 2026-11-20 or 2026-11-20T12:00:00Z)",
            param_hint="--as-of",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _policy(name: str | None, settings: Settings) -> Policy:
    key = name or settings.policy
    try:
        return resolve_policy(key, settings=settings)
    except KeyError:
        raise typer.BadParameter(
            f"unknown policy {key!r}; known: {', '.join(POLICIES)}", param_hint="--policy"
        ) from None


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


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressHook | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    columns = (
        TextColumn("{task.description:>12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def hook(code: str, done: int, total: int) -> None:
            if code not in tasks:
                tasks[code] = bar.add_task(code, total=total)
            bar.update(tasks[code], completed=done, total=total)

        yield hook


def _print_report(report: PullReport, *, title: str) -> None:
    out = _out()
    if out.is_terminal:
        table = Table(title=title, show_header=True, header_style="bold")
        table.add_column("carrier")
        for name in ("due", "fetched", "not found", "failed", "pass", "fail", "pending"):
            table.add_column(name, justify="right")
        for code, c in sorted(report.by_carrier.items()):
            table.add_row(
                code,
                *(
                    str(c.get(k, 0))
                    for k in ("due", "fetched", "not_found", "failed", "pass", "fail", "pending")
                ),
            )
        out.print(table)
    else:
        out.print(title)
        for code, c in sorted(report.by_carrier.items()):
            out.print(
                f"  {code}: due {c.get('due', 0)}, fetched {c.get('fetched', 0)}, "
                f"not found {c.get('not_found', 0)}, failed {c.get('failed', 0)}; "
                f"pass {c.get('pass', 0)}, fail {c.get('fail', 0)}, pending {c.get('pending', 0)}"
            )
    v = report.verdicts
    lines = [
        f"rows read {report.rows_read} ({report.orders_read} order"
        f"{'' if report.orders_read == 1 else 's'}), rejected"
        f" {report.rows_rejected}" + (f" (see {report.errors_file})" if report.errors_file else ""),
        f"orders in window {report.orders_in_window}; shipments fetched "
        f"{report.shipments_fetched}, not found {report.shipments_not_found}, "
        f"failed {report.shipments_failed}; {report.requests} carrier requests",
        f"verdicts: pass {v['pass']}, fail {v['fail']}, pending {v['pending']}  "
        f"({report.seconds:.1f} s)",
    ]
    for line in lines:
        out.print(line)
    for code, notice in sorted(report.notices.items()):
        out.print(f"[yellow]{code}: {notice}[/yellow]", highlight=False)


def _sandbox_server(
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


# -- commands --------------------------------------------------------------------------------


@app.command("pull")
def pull_command(
    orders: Annotated[
        Path,
        typer.Argument(
            help="Orders export as downloaded from the marketplace or ERP: CSV, .xlsx, .xlsm,"
            " .xls, .xlsb or .ods."
        ),
    ],
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Fetch from the built-in sandbox carriers.")
    ] = False,
    sandbox_url: Annotated[
        str | None,
        typer.Option(help="Fetch from a running `track-evidence sandbox` at this URL."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="End of the window (default: now), e.g. 2026-11-20.")
    ] = None,
    window_days: Annotated[int, typer.Option(min=1, max=3660, help="Window length in days.")] = 90,
    errors: Annotated[
        Path | None,
        typer.Option(help="Where to write rejected rows (default: <orders>.errors.csv)."),
    ] = None,
    tenant: Annotated[str, typer.Option(help="Seller account / store the orders belong to.")] = (
        "default"
    ),
    policy: Annotated[str | None, typer.Option(help="Verdict policy.")] = None,
    latency_ms: Annotated[
        str, typer.Option(help="Sandbox latency per request, e.g. 50-150.")
    ] = "0",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help='Read a field from this column, e.g. --map order_date="Created Time"'
            " (repeatable).",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Time zone of times written without one, e.g. Europe/London or +03:00"
            " (default: the recognized export's, else China time)."
        ),
    ] = None,
) -> None:
    """Read orders, fetch every tracking history, store raw responses, judge every order."""
    with _errors():
        if not orders.exists():
            _fail(f"{orders}: no such file", EXIT_USAGE)
        # an unusable file stops here, before any write
        opened = open_orders(
            orders, tenant=tenant, timezone=timezone, columns=parse_maps(column_map or [])
        )
        if not as_json:
            _out().print(read_line(opened))
        settings = _settings()
        moment = _as_of(as_of)
        chosen = _policy(policy, settings)
        carriers = all_carriers()
        server = (
            _sandbox_server(
                carriers, settings=settings, as_of=moment if as_of else None, latency=latency_ms
            )
            if sandbox
            else None
        )
        engine = open_engine(settings.database_url)
        with _progress(not as_json) as hook:
            report = asyncio.run(
                pull(
                    engine=engine,
                    settings=settings,
                    orders_path=orders,
                    carriers=carriers,
                    as_of=moment,
                    window_days=window_days,
                    policy=chosen,
                    tenant=tenant,
                    errors_path=errors,
                    sandbox=server,
                    sandbox_url=sandbox_url,
                    progress=hook,
                    orders_file=opened,
                )
            )
        if as_json:
            typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            _print_report(report, title=f"pull {orders.name}")


@app.command("refresh")
def refresh_command(
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Poll the built-in sandbox.")] = False,
    sandbox_url: Annotated[str | None, typer.Option(help="Poll a running sandbox.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Poll at most N shipments.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Judge as of this moment.")] = None,
    policy: Annotated[str | None, typer.Option(help="Verdict policy.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Poll the shipments that are due and re-judge their orders."""
    with _errors():
        settings = _settings()
        moment = _as_of(as_of)
        carriers = all_carriers()
        server = (
            _sandbox_server(
                carriers, settings=settings, as_of=moment if as_of else None, latency="0"
            )
            if sandbox
            else None
        )
        engine = open_engine(settings.database_url)
        with _progress(not as_json) as hook:
            report = asyncio.run(
                refresh(
                    engine=engine,
                    settings=settings,
                    carriers=carriers,
                    as_of=moment,
                    policy=_policy(policy, settings),
                    limit=limit,
                    sandbox=server,
                    sandbox_url=sandbox_url,
                    progress=hook,
                )
            )
        if as_json:
            typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            _print_report(report, title="refresh")


@app.command("status")
def status_command(
    order: Annotated[str | None, typer.Option(help="Only this order id.")] = None,
    verdict: Annotated[
        str | None, typer.Option(help="Only orders with this verdict: pass, fail or pending.")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this seller account / store.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most N orders.")] = 50,
    policy: Annotated[
        str | None,
        typer.Option(help="Judge again under this policy first (default, joom, shopee)."),
    ] = None,
    as_of: Annotated[str | None, typer.Option(help="With --policy: judge as of this moment.")] = (
        None
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show verdicts and their findings."""
    if verdict is not None and verdict not in ("pass", "fail", "pending"):
        raise typer.BadParameter("use pass, fail or pending", param_hint="--verdict")
    with _errors():
        settings = _settings()
        engine = open_engine(settings.database_url)
        if policy is not None:
            rejudge(engine, policy=_policy(policy, settings), as_of=_as_of(as_of), tenant=tenant)
        o = table_of(OrderRecord)
        v = table_of(VerdictRecord)
        query = (
            sa.select(
                o.c.tenant,
                o.c.order_id,
                o.c.order_date,
                o.c.carrier,
                o.c.tracking_number,
                o.c.destination_country,
                v.c.status,
                v.c.policy,
                v.c.milestones,
                v.c.findings,
                v.c.computed_at,
                o.c.id.label("pk"),
            )
            .join(v, v.c.order_pk == o.c.id)
            .order_by(o.c.order_date.desc(), o.c.id)
            .limit(limit)
        )
        if order is not None:
            query = query.where(o.c.order_id == order)
        if verdict is not None:
            query = query.where(v.c.status == verdict)
        if tenant is not None:
            query = query.where(o.c.tenant == tenant)
        try:
            with engine.connect() as connection:
                rows = list(connection.execute(query))
                split = further_numbers(connection, [r.pk for r in rows])
                numbers = [n for ps in split.values() for _, n in ps]
                legs = _legs(connection, [r.tracking_number for r in rows] + numbers)
        finally:
            engine.dispose()
        tenant_legs: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
        for (t, c, n), chain in legs.items():  # each order sees its own tenant's shipments
            tenant_legs.setdefault(t, {})[(c, n)] = chain
        if order is not None and not rows:
            _fail(f"no verdict for order {order!r} (was it pulled?)")
        items = [
            {
                "tenant": r.tenant,
                "order_id": r.order_id,
                "order_date": r.order_date.isoformat(),
                "carrier": r.carrier,
                "tracking_number": r.tracking_number,
                "destination_country": r.destination_country,
                "verdict": r.status,
                "policy": r.policy,
                "milestones": json.loads(r.milestones),
                "findings": json.loads(r.findings),
                "computed_at": r.computed_at.isoformat(),
                "legs": tenant_legs.get(r.tenant, {}).get((r.carrier, r.tracking_number), []),
                "parcels": status_parcels(  # a split order's parcels, the first included
                    (r.carrier or "", r.tracking_number),
                    split[r.pk],
                    json.loads(r.milestones),
                    tenant_legs.get(r.tenant, {}),
                )
                if r.pk in split
                else [],
            }
            for r in rows
        ]
        if as_json:
            typer.echo(json.dumps(items, ensure_ascii=False))
            return
        out = _out()
        table = Table(show_header=True, header_style="bold", expand=False)
        for name in ("order", "carrier", "tracking number", "dest", "verdict", "why"):
            table.add_column(name)
        for item in items:
            milestones = item["milestones"]
            marks = " ".join(
                ("✓" if m["status"] == "explicit" else "~" if m["status"] == "inferred" else "✗")
                for m in (
                    milestones[k] for k in ("departed_origin", "arrived_destination", "delivered")
                )
            )
            why = next(
                (f["message"] for f in item["findings"] if f["severity"] == "error"),
                item["findings"][0]["message"] if item["findings"] else "",
            )
            table.add_row(
                item["order_id"],
                item["carrier"] or "?",
                "\n".join(p["tracking_number"] for p in item["parcels"]) or item["tracking_number"],
                item["destination_country"],
                f"{item['verdict']} {marks}",
                why,
            )
        out.print(table)
        refusing = {
            f["message"].split(". The raw answer", 1)[0]
            for item in items
            for f in item["findings"]
            if f["code"] == "shipment.fetch_failed"
            and "refusing automated requests" in f["message"]
        }
        for line in sorted(refusing):
            out.print(f"[yellow]{line}[/yellow]", highlight=False)


def _legs(connection: Any, numbers: list[str]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Chain of custody per origin shipment (tenant, carrier, number): the origin leg, then
    the legs it handed over to."""
    s = table_of(ShipmentRecord)
    child = s.alias("child")
    found: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    if not numbers:
        return found
    query = (
        sa.select(
            s,
            child.c.carrier.label("c_carrier"),
            child.c.tracking_number.label("c_number"),
            child.c.carrier_name.label("c_name"),
            child.c.role.label("c_role"),
            child.c.state.label("c_state"),
            child.c.final.label("c_final"),
        )
        .outerjoin(child, child.c.parent_id == s.c.id)
        .where(s.c.tracking_number.in_(numbers), s.c.parent_id.is_(None))
        .order_by(s.c.id, child.c.id)
    )
    for row in connection.execute(query):
        chain = found.setdefault((row.tenant, row.carrier, row.tracking_number), [])
        if not chain:
            chain.append(
                {
                    "carrier": row.carrier,
                    "tracking_number": row.tracking_number,
                    "role": row.role,
                    "carrier_name": row.carrier_name,
                    "state": row.state,
                    "final": bool(row.final),
                }
            )
        if row.c_number is not None:
            chain.append(
                {
                    "carrier": row.c_carrier or None,
                    "tracking_number": row.c_number,
                    "role": row.c_role,
                    "carrier_name": row.c_name,
                    "state": row.c_state,
                    "final": bool(row.c_final),
                }
            )
    return found


@app.command("parse")
def parse_command(
    file: Annotated[Path, typer.Argument(help="A raw carrier response body ('-' for stdin).")],
    carrier: Annotated[str, typer.Option("--carrier", help="Carrier code, e.g. cainiao.")],
    number: Annotated[
        list[str] | None, typer.Option("--number", help="Tracking number(s) the response is for.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Parse one stored raw carrier response (no network, no database)."""
    with _errors():
        info = get_carrier(carrier)
        if str(file) == "-":
            body = sys.stdin.buffer.read()
        else:
            try:
                body = file.read_bytes()
            except OSError as exc:
                _fail(f"{file}: {exc.strerror or exc}", EXIT_USAGE)
        try:
            parsed = info.parse(body, requested=tuple(number or ()))
        except CarrierError as exc:
            _fail(f"{file}: {exc}")
        if not parsed:
            # Never report nothing as a success: an answer without any tracking result
            # (a `register` answer, an empty list) is not evidence of anything.
            _fail(f"{file}: {info.code}: the response holds no tracking result for any number")
        items = [_parsed_json(info.code, n, outcome) for n, outcome in parsed.items()]
        if as_json:
            payload: Any = items[0] if len(items) == 1 else items
            typer.echo(json.dumps(payload, ensure_ascii=False))
            return
        out = _out()
        for item in items:
            out.print(f"[bold]{item['carrier']} {item['tracking_number']}[/]")
            if "error" in item:
                out.print(f"  {item['error']['kind']}: {item['error']['message']}")
                continue
            for e in item["events"]:
                out.print(
                    f"  {e['occurred_at']}  {e['stage']:<22} {e['code']:<22} {e['description']}"
                )
            for name, when in item["milestones"].items():
                out.print(f"  milestone {name}: {when or 'missing'}")
            if item.get("carrier_status"):
                out.print(f"  carrier status: {item['carrier_status']}")
            out.print(f"  final: {item['final']}")


def _parsed_json(code: str, number: str, outcome: TrackResult | CarrierFailure) -> dict[str, Any]:
    if isinstance(outcome, CarrierFailure):
        return {
            "carrier": code,
            "tracking_number": number,
            "events": [],
            "milestones": {
                k: None for k in ("departed_origin", "arrived_destination", "delivered")
            },
            "final": False,
            "error": {"kind": outcome.kind.value, "message": outcome.message},
        }
    events = chronological(outcome.events)
    return {
        "carrier": code,
        "tracking_number": number,
        "events": [
            {
                "stage": e.stage.value,
                "code": e.code,
                "description": e.description,
                "occurred_at": e.occurred_at.isoformat().replace("+00:00", "Z"),
                "local_offset": e.local_offset,
                "time_source": e.time_source.value,
                "location": e.location,
                "country": e.country,
            }
            for e in events
        ],
        "milestones": {
            k: (v.isoformat().replace("+00:00", "Z") if v else None)
            for k, v in milestone_times(events).items()
        },
        "final": outcome.final,
        "carrier_status": outcome.carrier_status,
        "legs": [
            {
                "tracking_number": leg.tracking_number,
                "carrier": leg.carrier,
                "name": leg.carrier_name,
            }
            for leg in outcome.legs
        ],
    }


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Bundle folder (NAME.zip with --zip).")],
    reference_id: Annotated[
        str | None,
        typer.Option(
            help="Evidence Reference ID from the suspension notice (cited on every page)."
        ),
    ] = None,
    seller: Annotated[
        str | None,
        typer.Option(
            help="Seller's registered name, printed exactly as given on every page "
            "(default: the tenant)."
        ),
    ] = None,
    as_zip: Annotated[
        bool, typer.Option("--zip", help="Write one zip file, NAME.zip, instead of a folder.")
    ] = (False),
    verdict: Annotated[
        list[str] | None,
        typer.Option(help="Cite orders with this verdict (repeatable; default: pass)."),
    ] = None,
    order: Annotated[
        list[str] | None, typer.Option(help="Cite only among these order ids (repeatable).")
    ] = None,
    include: Annotated[
        list[str] | None,
        typer.Option(help="Cite this order whatever its verdict (repeatable; recorded)."),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="Never cite this order (repeatable; recorded)."),
    ] = None,
    tenant: Annotated[str, typer.Option(help="Seller account / store.")] = "default",
    as_of: Annotated[str | None, typer.Option(help="End of the window (default: now).")] = None,
    window_days: Annotated[int, typer.Option(min=1, max=3660, help="Window length in days.")] = 90,
    created_at: Annotated[
        str | None,
        typer.Option(
            help="Creation time recorded in the bundle (fix it for byte-identical output; "
            "never earlier than the data shown)."
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(help="Judge again under this policy before writing (default, joom, shopee)."),
    ] = None,
    sign_key: Annotated[
        Path | None,
        typer.Option(
            help="Ed25519 private key (PEM) to sign the manifest; or TRACK_EVIDENCE_SIGNING_KEY."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write an evidence bundle: upload/ for the reviewer, precheck/ for you (never upload it)."""
    # The bundle's PDF, image and crypto libraries load only for the commands that need them.
    from tracking.evidence.export import ExportRequest, export_bundle

    for status in verdict or ():
        if status not in ("pass", "fail", "pending"):
            raise typer.BadParameter("use pass, fail or pending", param_hint="--verdict")
    with _errors():
        settings = _settings()
        engine = open_engine(settings.database_url)
        if reference_id is None:
            err.print(
                "warning: no --reference-id; marketplaces ignore material that does not cite "
                "the Evidence Reference ID of the suspension notice"
            )
        request = ExportRequest(
            out=out,
            tenant=tenant,
            reference_id=reference_id,
            seller=seller,
            as_of=_as_of(as_of),
            window_days=window_days,
            created_at=_as_of(created_at) if created_at else None,
            verdicts=tuple(verdict or ()),
            orders=tuple(order or ()),
            include=tuple(include or ()),
            exclude=tuple(exclude or ()),
            as_zip=as_zip,
            policy=_policy(policy, settings) if policy is not None else None,
            signing_key=sign_key or settings.signing_key,
            tool_version=__version__,
            filters={"verdict": ",".join(verdict or ()), "order": ",".join(order or ())},
        )
        result = export_bundle(engine, request, carriers=all_carriers())
        payload = {
            "path": str(result.path),
            "orders": result.orders,
            "files": result.files,
            "bytes": result.bytes,
            "manifest_sha256": result.manifest_sha256,
            "signed": result.signed,
            "upload": "upload/",
            "precheck": "precheck/",
        }
        if as_json:
            typer.echo(json.dumps(payload))
            return
        _out().print(
            f"bundle written: {result.path} ({result.orders} orders cited, {result.files} files, "
            f"{result.bytes / 1_048_576:.1f} MB, {'signed' if result.signed else 'unsigned'})\n"
            f"  upload/    for the marketplace: upload these files (PDF/PNG, each <= 10 MB)\n"
            f"  precheck/  for you only, never upload: every order's verdict, the orders not to "
            "cite and what to do"
        )


@app.command("verify")
def verify_command(
    path: Annotated[Path, typer.Argument(help="A bundle folder or zip.")],
    public_key: Annotated[
        Path | None, typer.Option(help="Trust only this Ed25519 public key (PEM).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a bundle's digests, manifest and signature; exit 3 on the first mismatch."""
    from tracking.evidence import load_public_key, verify_bundle

    with _errors():
        if not path.exists():
            _fail(f"{path}: no such file or folder", EXIT_USAGE)
        result = verify_bundle(path, public_key=load_public_key(public_key) if public_key else None)
        if as_json:
            typer.echo(
                json.dumps({"ok": result.ok, "checked": result.checked, "problem": result.problem})
            )
        elif result.ok:
            _out().print(f"intact: {result.checked} files checked")
        else:
            err.print(f"TAMPERED: {result.problem}")
        if not result.ok:
            raise typer.Exit(EXIT_TAMPERED)


keys_app = typer.Typer(help="Signing keys and API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(groups_app, name="groups")


@keys_app.command("signing")
def keys_signing_command(
    path: Annotated[Path, typer.Argument(help="Where to write the private key (PEM, mode 0600).")],
) -> None:
    """Create an Ed25519 key pair for signing bundles (the public key goes to PATH.pub)."""
    from tracking.evidence import generate_signing_key

    with _errors():
        public = generate_signing_key(path)
        _out().print(
            f"private key: {path} (keep it secret; set TRACK_EVIDENCE_SIGNING_KEY={path})\n"
            f"public key:  {public} (give it to whoever verifies your bundles)"
        )


@keys_app.command("create")
def keys_create_command(
    tenant: Annotated[str, typer.Option(help="The seller account / store the key may read.")],
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "",
) -> None:
    """Issue an API key for a tenant (shown once; only its hash is stored)."""
    from tracking.api import create_key

    with _errors():
        engine = open_engine(_settings().database_url)
        key = create_key(engine, tenant, name=name)
        err.print(f"API key for tenant {tenant!r} (shown once, store it now):")
        typer.echo(key)


@keys_app.command("list")
def keys_list_command(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List API keys (prefixes only, never the keys)."""
    from tracking.api import list_keys

    with _errors():
        engine = open_engine(_settings().database_url)
        keys = list_keys(engine, tenant)
        rows = [
            {
                "id": k.id,
                "tenant": k.tenant,
                "name": k.name,
                "prefix": k.prefix,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in keys
        ]
        if as_json:
            typer.echo(json.dumps(rows))
            return
        table = Table(show_header=True, header_style="bold")
        for column in ("id", "tenant", "name", "prefix", "created", "revoked"):
            table.add_column(column)
        for r in rows:
            table.add_row(
                r["id"], r["tenant"], r["name"], r["prefix"], r["created_at"], r["revoked_at"] or ""
            )
        _out().print(table)


@keys_app.command("revoke")
def keys_revoke_command(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `keys list`).")],
) -> None:
    """Revoke an API key: every request with it gets 401 from now on."""
    from tracking.api import revoke_key

    with _errors():
        engine = open_engine(_settings().database_url)
        if not revoke_key(engine, key_id):
            _fail(f"no active API key with id {key_id!r}")
        _out().print(f"revoked {key_id}")


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    refresh_minutes: Annotated[
        float,
        typer.Option(min=0.0, help="Poll due shipments every N minutes (0: no schedule)."),
    ] = 15.0,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Pulls and refreshes use the built-in sandbox.")
    ] = False,
) -> None:
    """Serve the HTTP API under /v1 (OpenAPI at /openapi.json) with the refresh schedule."""
    from tracking.api import ApiOptions, serve

    with _errors():
        settings = _settings()
        carriers = all_carriers()
        server = (
            _sandbox_server(carriers, settings=settings, as_of=None, latency="0")
            if sandbox
            else None
        )

        async def refresh_forever() -> None:
            engine = open_engine(settings.database_url)
            try:
                while True:
                    try:
                        await refresh(
                            engine=engine,
                            settings=settings,
                            carriers=carriers,
                            as_of=datetime.now(UTC),
                            policy=_policy(None, settings),
                            sandbox=server,
                        )
                    except TrackingError as exc:
                        logging.getLogger("tracking.serve").warning("refresh failed: %s", exc)
                    await asyncio.sleep(refresh_minutes * 60)
            finally:
                engine.dispose()

        err.print(f"serving on http://{host}:{port}/v1 (OpenAPI: /openapi.json)")
        serve(
            settings,
            host=host,
            port=port,
            options=ApiOptions(
                data_dir=settings.data_dir, job_concurrency=settings.job_concurrency
            ),
            sandbox=server,
            background=refresh_forever if refresh_minutes > 0 else None,
        )


@app.command("detect")
def detect_command(
    number: Annotated[str, typer.Argument(help="A tracking number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rank the carriers that may own a tracking number (patterns and UPU S10 check digit)."""
    with _errors():
        found = detect(number, all_carriers())
        payload = {
            "number": found.number,
            "candidates": [
                {"carrier": c.carrier, "name": c.name, "score": c.score, "reasons": list(c.reasons)}
                for c in found.candidates
            ],
            "s10": (
                {
                    "service": found.s10.service,
                    "country": found.s10.country,
                    "check_digit_ok": found.s10.check_digit_ok,
                    "expected_digit": found.s10.expected_digit,
                }
                if found.s10
                else None
            ),
            "warnings": list(found.warnings),
        }
        if as_json:
            typer.echo(json.dumps(payload, ensure_ascii=False))
            return
        out = _out()
        out.print(f"[bold]{found.number}[/]")
        for c in found.candidates:
            out.print(f"  {c.score:.2f}  {c.carrier:<12} {'; '.join(c.reasons)}")
        for warning in found.warnings:
            out.print(f"  [yellow]warning:[/] {warning}")


@app.command("carriers")
def carriers_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the registered carriers and their readiness."""
    with _errors():
        settings = _settings()
        rows: list[dict[str, Any]] = []
        for code, info in all_carriers().items():
            try:
                cs = load_carrier_settings(info.settings_model, settings=settings, code=code)
                missing = cs.missing_credentials()
                rate = cs.rate_per_second or info.rate_limit.per_second
            except ConfigError as exc:
                missing, rate = [f"invalid settings: {exc}"], info.rate_limit.per_second
            rows.append(
                {
                    "code": code,
                    "name": info.name,
                    "batch_size": info.batch_size,
                    "rate_per_second": rate,
                    "concurrency": info.rate_limit.concurrency,
                    "credentials": "ready" if not missing else "missing: " + ", ".join(missing),
                    "sandbox": info.sandbox is not None,
                    "tracking_url": info.tracking_url,
                }
            )
        if as_json:
            typer.echo(json.dumps(rows, ensure_ascii=False))
            return
        table = Table(show_header=True, header_style="bold")
        for name in ("code", "name", "batch", "rate/s", "in flight", "credentials", "sandbox"):
            table.add_column(name)
        for r in rows:
            table.add_row(
                r["code"],
                r["name"],
                str(r["batch_size"]),
                f"{r['rate_per_second']:g}",
                str(r["concurrency"]),
                r["credentials"],
                "yes" if r["sandbox"] else "no",
            )
        _out().print(table)


@app.command("sandbox")
def sandbox_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8765,
    latency_ms: Annotated[str, typer.Option(help="Per-request latency, e.g. 50-150.")] = "0",
    fault_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests answered with a 5xx.")
    ] = 0.0,
    as_of: Annotated[
        str | None, typer.Option(help="Pin the world's clock, e.g. 2026-11-20.")
    ] = None,
    no_limits: Annotated[
        bool, typer.Option("--no-limits", help="Do not enforce carrier rate limits.")
    ] = False,
    block: Annotated[
        list[str] | None,
        typer.Option(help="Answer this carrier with an anti-bot challenge page (repeatable)."),
    ] = None,
) -> None:
    """Run the sandbox carrier server (each carrier's real wire format, simulated world)."""
    import uvicorn

    with _errors():
        server = _sandbox_server(
            all_carriers(),
            settings=_settings(),
            as_of=_as_of(as_of) if as_of else None,
            latency=latency_ms,
            fault_rate=fault_rate,
            enforce_limits=not no_limits,
            blocked=frozenset(block or ()),
        )
        err.print(
            f"sandbox carriers: {', '.join(server.carriers)}; listening on http://{host}:{port}"
        )
        uvicorn.run(server.app, host=host, port=port, log_level="warning")


register_report(app)
register_formats(app)
register_workers(app)
register_console(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    command: Callable[..., Any] = typer.main.get_command(app)
    tune_gc()
    try:
        command(args=argv, prog_name="track-evidence", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        err.print("interrupted")
        sys.exit(130)
