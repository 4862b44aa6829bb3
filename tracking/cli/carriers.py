"""`carriers` (readiness), `detect` (who owns a number) and `parse` (one stored raw answer)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from carriers.registry import all_carriers, get_carrier
from tracking.cli.common import EXIT_USAGE, JsonFlag, errors, fail, out, print_rows, settings
from tracking.core.config import load_carrier_settings
from tracking.core.domain import CarrierFailure, TrackResult
from tracking.core.exceptions import CarrierError, ConfigError
from tracking.core.numbers import detect
from tracking.judge.milestones import chronological, milestone_times

__all__ = ["carriers_command", "detect_command", "parse_command"]

_MILESTONES = ("departed_origin", "arrived_destination", "delivered")


def parse_command(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="A raw carrier response body ('-' for stdin)."),
    ],
    carrier: Annotated[
        str, typer.Option("--carrier", metavar="CODE", help="Carrier code, e.g. cainiao.")
    ],
    number: Annotated[
        list[str] | None,
        typer.Option("--number", metavar="N", help="Tracking number(s) the response is for."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Parse one stored raw carrier response (no network, no database)."""
    with errors():
        info = get_carrier(carrier)
        if str(file) == "-":
            body = sys.stdin.buffer.read()
        else:
            try:
                body = file.read_bytes()
            except OSError as exc:
                fail(f"{file}: {exc.strerror or exc}", EXIT_USAGE)
        try:
            parsed = info.parse(body, requested=tuple(number or ()))
        except CarrierError as exc:
            fail(f"{file}: {exc}")
        if not parsed:
            # Never report nothing as a success: an answer without any tracking result
            # (a `register` answer, an empty list) is not evidence of anything.
            fail(f"{file}: {info.code}: the response holds no tracking result for any number")
        items = [_parsed_json(info.code, n, outcome) for n, outcome in parsed.items()]
        if as_json:
            payload: Any = items[0] if len(items) == 1 else items
            typer.echo(json.dumps(payload, ensure_ascii=False))
            return
        console = out()
        for item in items:
            console.print(f"[bold]{escape(item['carrier'])} {escape(item['tracking_number'])}[/]")
            if "error" in item:
                console.print(
                    f"  {item['error']['kind']}: {item['error']['message']}", markup=False
                )
                continue
            for e in item["events"]:
                console.print(
                    f"  {e['occurred_at']}  {e['stage']:<22} {e['code']:<22} {e['description']}",
                    markup=False,
                )
            for name, when in item["milestones"].items():
                console.print(f"  milestone {name}: {when or 'missing'}", markup=False)
            if item.get("carrier_status"):
                console.print(f"  carrier status: {item['carrier_status']}", markup=False)
            console.print(f"  final: {item['final']}", markup=False)


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


def _parsed_json(code: str, number: str, outcome: TrackResult | CarrierFailure) -> dict[str, Any]:
    if isinstance(outcome, CarrierFailure):
        return {
            "carrier": code,
            "tracking_number": number,
            "events": [],
            "milestones": dict.fromkeys(_MILESTONES),
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
                "occurred_at": _iso(e.occurred_at),
                "local_offset": e.local_offset,
                "time_source": e.time_source.value,
                "location": e.location,
                "country": e.country,
            }
            for e in events
        ],
        "milestones": {k: (_iso(v) if v else None) for k, v in milestone_times(events).items()},
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


def detect_command(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="A tracking number.")],
    as_json: JsonFlag = False,
) -> None:
    """Rank the carriers that may own a tracking number (patterns and UPU S10 check digit)."""
    with errors():
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
        console = out()
        console.print(found.number, markup=False, style="bold")
        for c in found.candidates:
            console.print(f"  {c.score:.2f}  {c.carrier:<12} {'; '.join(c.reasons)}", markup=False)
        for warning in found.warnings:
            console.print(f"  warning: {warning}", markup=False)


def carriers_command(
    as_json: JsonFlag = False,
) -> None:
    """List the registered carriers and their readiness."""
    with errors():
        current = settings()
        rows: list[dict[str, Any]] = []
        for code, info in all_carriers().items():
            try:
                cs = load_carrier_settings(info.settings_model, settings=current, code=code)
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
        print_rows(
            ("code", "name", "batch", "rate/s", "in flight", "credentials", "sandbox"),
            [
                (
                    r["code"],
                    r["name"],
                    r["batch_size"],
                    f"{r['rate_per_second']:g}",
                    r["concurrency"],
                    r["credentials"],
                    "yes" if r["sandbox"] else "no",
                )
                for r in rows
            ],
            right=("batch", "rate/s", "in flight"),
        )
