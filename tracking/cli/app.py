"""The `track-evidence` application: global options, every command group, the entry point."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from tracking import __version__
from tracking.cli import carriers, console, export, formats, pull, report, serve, status, workers
from tracking.cli.common import PROG, err, state
from tracking.cli.conventions import Command, CommandLine
from tracking.cli.groups import groups_app
from tracking.cli.keys import keys_app
from tracking.core.redaction import install_log_redaction
from tracking.core.runtime import tune_gc

__all__ = ["COMMANDS", "app", "main"]

app = typer.Typer(
    cls=CommandLine,
    name=PROG,
    help="Collect carrier tracking evidence (departed, arrived, delivered) for appeals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help, as other command-line tools print it
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="Database URL (default: sqlite:///./track-evidence.db, or "
            "TRACK_EVIDENCE_DATABASE_URL).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="TOML settings file (carriers' [carriers.<code>] tables), or "
            "TRACK_EVIDENCE_CONFIG_FILE.",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show internal errors in full.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Collect carrier tracking evidence for marketplace appeals.

    Global options (--db, --config, --debug) may also follow the command.
    """
    if config is not None and not config.is_file():
        raise typer.BadParameter(f"{config}: no such file", param_hint="--config")
    state.db = db
    state.config = config
    state.debug = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, stream=sys.stderr)
    install_log_redaction()  # `--debug` logs carrier URLs: never their keys


# Every command, in the order `--help` lists them: the name typed, the function that runs it.
COMMANDS: dict[str, Callable[..., None]] = {
    "pull": pull.pull_command,
    "refresh": pull.refresh_command,
    "status": status.status_command,
    "report": report.report_command,
    "export": export.export_command,
    "verify": export.verify_command,
    "parse": carriers.parse_command,
    "detect": carriers.detect_command,
    "carriers": carriers.carriers_command,
    "formats": formats.formats_command,
    "serve": serve.serve_command,
    "sandbox": serve.sandbox_command,
    "worker": workers.worker_command,
    "console": console.console_command,
}
for _name, _command in COMMANDS.items():
    app.command(_name, cls=Command)(_command)
app.add_typer(keys_app, name="keys")
app.add_typer(groups_app, name="groups")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    tune_gc()
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name=PROG, standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        err.print("interrupted")
        sys.exit(130)
