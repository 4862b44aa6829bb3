"""`formats`: the marketplace, ERP and aggregator exports that `pull` knows."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from tracking.cli.common import JsonFlag, err, errors, out, print_rows
from tracking.ingest.profiles import ExportProfile, all_profiles

__all__ = ["describe", "formats_command", "status"]

UNVERIFIED = "not yet verified; use --map"
_UNVERIFIED_NOTE = (
    "unverified: no public source gives the export's full header row yet (some are partly "
    "documented: see their sources), so the export is read through the generic headers; use "
    '--map field="Header" for the rest.'
)


def status(profile: ExportProfile) -> str:
    """How `pull` treats this export, in a few words."""
    if not profile.verified:
        return UNVERIFIED
    if profile.no_tracking:
        return "recognized; no tracking numbers"
    return "recognized"


def _short_status(profile: ExportProfile) -> str:
    if not profile.verified:
        return "no: unverified"
    return "yes, no tracking" if profile.no_tracking else "yes"


def describe(profile: ExportProfile) -> dict[str, Any]:
    """One profile as `formats --json` prints it."""
    return {
        "key": profile.key,
        "name": profile.name,
        "kind": profile.kind,
        "marketplace": profile.marketplace,
        "verified": profile.verified,
        "status": status(profile),
        "timezone": profile.timezone,
        "file_types": list(profile.file_types),
        "signature": list(profile.signature),
        "columns": {field: list(names) for field, names in profile.columns.items()},
        "ignore_tracking": list(profile.ignore_tracking),
        "no_tracking": profile.no_tracking,
        "sources": list(profile.sources),
        "notes": profile.notes,
    }


def formats_command(
    as_json: JsonFlag = False,
) -> None:
    """List the known order exports (marketplaces, ERPs, trackers) and how each is read.

    On a pipe: tab-separated columns, the sources of the header names in the last one.
    """
    with errors():
        profiles = sorted(all_profiles(), key=lambda p: (not p.verified, p.kind, p.key))
        if as_json:
            typer.echo(json.dumps([describe(p) for p in profiles], ensure_ascii=False))
            return
        console = out()
        if not console.is_terminal:
            print_rows(
                (
                    "key",
                    "export",
                    "kind",
                    "file types",
                    "time zone",
                    "recognized",
                    "no tracking",
                    "sources",
                ),
                [
                    (
                        p.key,
                        p.name,
                        p.kind,
                        ",".join(p.file_types),
                        p.timezone or "-",
                        _short_status(p),
                        p.no_tracking or "",
                        " | ".join(p.sources),
                    )
                    for p in profiles
                ],
            )
            if any(not p.verified for p in profiles):
                err.print(_UNVERIFIED_NOTE, markup=False)
            return
        table = Table(show_header=True, header_style="bold")
        table.add_column("key", no_wrap=True)
        table.add_column("export", ratio=1)
        table.add_column("time zone")
        table.add_column("recognized")
        for p in profiles:
            table.add_row(
                p.key,
                f"{escape(p.name)}\n[dim]{p.kind}, {', '.join(p.file_types)}[/dim]",
                p.timezone or "-",
                _short_status(p),
            )
        console.print(table)
        for p in profiles:
            if p.no_tracking:
                console.print(
                    f"{p.key}: no tracking numbers in this report; {p.no_tracking}", markup=False
                )
        if any(not p.verified for p in profiles):
            console.print(_UNVERIFIED_NOTE, markup=False)
        console.print("Sources of the header names:")
        for p in profiles:
            for source in p.sources or ("none public yet",):
                console.print(f"  {p.key}: {source}", markup=False)
