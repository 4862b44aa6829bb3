"""`export` (write an evidence bundle) and `verify` (check one)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from carriers.registry import all_carriers
from tracking import __version__
from tracking.cli.common import (
    EXIT_TAMPERED,
    EXIT_USAGE,
    JsonFlag,
    WindowDaysOption,
    as_of,
    database,
    err,
    errors,
    fail,
    out,
    policy,
    policy_option,
    progress_bars,
    repeatable,
    settings,
)
from tracking.store.listing import count_judged

__all__ = ["export_command", "verify_command"]


def export_command(
    out_path: Annotated[
        Path,
        typer.Option("--out", metavar="PATH", help="Bundle folder (NAME.zip with --zip)."),
    ],
    reference_id: Annotated[
        str | None,
        typer.Option(
            metavar="ID",
            help="Evidence Reference ID from the suspension notice (cited on every page).",
        ),
    ] = None,
    seller: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Seller's registered name, printed exactly as given on every page "
            "(default: the tenant).",
        ),
    ] = None,
    as_zip: Annotated[
        bool, typer.Option("--zip", help="Write one zip file, NAME.zip, instead of a folder.")
    ] = False,
    verdict: Annotated[
        list[str] | None,
        repeatable("VERDICT", "Cite orders with this verdict", note="default: pass"),
    ] = None,
    order: Annotated[list[str] | None, repeatable("ID", "Cite only among these order ids")] = None,
    include: Annotated[
        list[str] | None, repeatable("ID", "Cite this order whatever its verdict", note="recorded")
    ] = None,
    exclude: Annotated[
        list[str] | None, repeatable("ID", "Never cite this order", note="recorded")
    ] = None,
    tenant: Annotated[str, typer.Option(metavar="TENANT", help="Seller account / store.")] = (
        "default"
    ),
    window_end: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="End of the window (default: now)."),
    ] = None,
    window_days: WindowDaysOption = 90,
    created_at: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="Creation time recorded in the bundle (fix it for byte-identical output; "
            "never earlier than the data shown).",
        ),
    ] = None,
    policy_name: Annotated[
        str | None,
        policy_option("Judge again under this policy before writing (default, joom, shopee)."),
    ] = None,
    sign_key: Annotated[
        Path | None,
        typer.Option(
            metavar="PEM",
            help="Ed25519 private key (PEM) to sign the manifest; or TRACK_EVIDENCE_SIGNING_KEY.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write an evidence bundle: upload/ for the reviewer, precheck/ for you (never upload it)."""
    # The bundle's PDF, image and crypto libraries load only for the commands that need them.
    from tracking.evidence.export import ExportRequest, export_bundle

    for status in verdict or ():
        if status not in ("pass", "fail", "pending"):
            raise typer.BadParameter("use pass, fail or pending", param_hint="--verdict")
    with errors():
        current = settings()
        moment = as_of(window_end)
        request = ExportRequest(
            out=out_path,
            tenant=tenant,
            reference_id=reference_id,
            seller=seller,
            as_of=moment,
            window_days=window_days,
            created_at=as_of(created_at, param="--created-at") if created_at else None,
            verdicts=tuple(verdict or ()),
            orders=tuple(order or ()),
            include=tuple(include or ()),
            exclude=tuple(exclude or ()),
            as_zip=as_zip,
            policy=policy(policy_name, current) if policy_name is not None else None,
            signing_key=sign_key or current.signing_key,
            tool_version=__version__,
            filters={"verdict": ",".join(verdict or ()), "order": ",".join(order or ())},
        )
        with database(current) as engine:
            if reference_id is None:
                err.print(
                    "warning: no --reference-id; marketplaces ignore material that does not "
                    "cite the Evidence Reference ID of the suspension notice"
                )
            with progress_bars(not as_json) as hook:
                total: int | None = None
                if hook is not None:
                    window = (moment - timedelta(days=window_days), moment)
                    total = count_judged(engine, tenant=tenant, window=window)
                result = export_bundle(
                    engine,
                    request,
                    carriers=all_carriers(),
                    progress=(lambda done: hook("orders", done, total)) if hook else None,
                )
        payload = {**result.as_json(), "upload": "upload/", "precheck": "precheck/"}
        if as_json:
            typer.echo(json.dumps(payload))
            return
        out().print(
            f"bundle written: {result.path} ({result.orders} orders cited, {result.files} files, "
            f"{result.bytes / 1_048_576:.1f} MB, {'signed' if result.signed else 'unsigned'})\n"
            f"  upload/    for the marketplace: upload these files (PDF/PNG, each <= 10 MB)\n"
            f"  precheck/  for you only, never upload: every order's verdict, the orders not to "
            "cite and what to do",
            markup=False,
        )


def verify_command(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A bundle folder or zip.")],
    public_key: Annotated[
        Path | None,
        typer.Option(metavar="PEM", help="Trust only this Ed25519 public key (PEM)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a bundle's digests, manifest and signature; exit 3 on the first mismatch."""
    from tracking.evidence import load_public_key, verify_bundle

    with errors():
        if not path.exists():
            fail(f"{path}: no such file or folder", EXIT_USAGE)
        result = verify_bundle(path, public_key=load_public_key(public_key) if public_key else None)
        if as_json:
            typer.echo(
                json.dumps({"ok": result.ok, "checked": result.checked, "problem": result.problem})
            )
        elif result.ok:
            out().print(f"intact: {result.checked} files checked", markup=False)
        else:
            err.print(f"TAMPERED: {result.problem}", markup=False)
        if not result.ok:
            raise typer.Exit(EXIT_TAMPERED)
