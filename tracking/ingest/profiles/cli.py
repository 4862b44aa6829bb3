"""`track-evidence formats`: the marketplace, ERP and aggregator exports that `pull` knows."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tracking.ingest.profiles import ExportProfile, all_profiles

UNVERIFIED = "not yet verified; use --map"


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


def register(app: typer.Typer) -> None:
    """Add the `formats` command to the `track-evidence` application."""

    @app.command("formats")
    def formats_command(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """List the known order exports (marketplaces, ERPs, trackers) and how each is read."""
        from tracking.cli.app import _errors, _out

        with _errors():
            profiles = sorted(all_profiles(), key=lambda p: (not p.verified, p.kind, p.key))
            if as_json:
                typer.echo(json.dumps([describe(p) for p in profiles], ensure_ascii=False))
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
            out = _out()
            out.print(table)
            for p in profiles:
                if p.no_tracking:
                    out.print(
                        f"{p.key}: no tracking numbers in this report; {escape(p.no_tracking)}"
                    )
            if any(not p.verified for p in profiles):
                out.print(
                    "unverified: no public source gives the export's full header row yet (some "
                    "are partly documented: see their sources), so the export is read through "
                    'the generic headers; use --map field="Header" for the rest.'
                )
            out.print("Sources of the header names:")
            for p in profiles:
                for source in p.sources or ("none public yet",):
                    out.print(f"  {p.key}: {escape(source)}")
