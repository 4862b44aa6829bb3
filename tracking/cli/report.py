"""`report`: portfolio figures for the appeal letter, findings by code, orders not to cite."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tracking.cli.common import (
    JsonFlag,
    WindowEndOption,
    as_of,
    database,
    errors,
    out,
    policy,
    policy_option,
    settings,
)
from tracking.read.report import build_report, render_rich, render_text

__all__ = ["report_command"]


def report_command(
    window_days: Annotated[
        int | None,
        typer.Option(min=1, max=3660, metavar="DAYS", help="Window length in days (default: 90)."),
    ] = None,
    window_end: WindowEndOption = None,
    tenant: Annotated[
        str | None,
        typer.Option(metavar="TENANT", help="Only this seller account / store (default: all)."),
    ] = None,
    policy_name: Annotated[
        str | None,
        policy_option(
            "Judge again under this policy (default, joom, shopee) without storing; "
            "default: the stored verdicts."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Portfolio figures for the appeal letter, findings by code, orders not to cite."""
    moment = as_of(window_end)
    with errors():
        current = settings()
        chosen = policy(policy_name, current) if policy_name is not None else None
        with database(current) as engine:
            report = build_report(
                engine,
                as_of=moment,
                window_days=window_days or current.window_days,
                tenant=tenant,
                policy=chosen,
            )
        if as_json:
            typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
            return
        console = out()
        if console.is_terminal:
            render_rich(report, console)
        else:
            console.print(render_text(report), markup=False)
