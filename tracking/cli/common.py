"""What every command shares: global options, errors as one line, option parsing, output.

Output follows the terminal: on a TTY, Rich tables and progress bars; on a pipe, tab-separated
columns under a header line, full ids and no progress (`status | cut -f2` works).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from tracking.core.config import Settings, get_settings
from tracking.core.exceptions import TrackingError
from tracking.core.redaction import redact
from tracking.judge.policies import POLICIES, Policy, resolve_policy
from tracking.store.engine import open_engine

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_TAMPERED",
    "EXIT_USAGE",
    "PROG",
    "USAGE_ERROR",
    "GlobalOptions",
    "JsonFlag",
    "PolicyOption",
    "WindowDaysOption",
    "WindowEndOption",
    "as_of",
    "database",
    "err",
    "errors",
    "fail",
    "open_db",
    "out",
    "policy",
    "policy_option",
    "print_rows",
    "progress_bars",
    "repeatable",
    "settings",
    "shown_note",
    "state",
]

PROG = "track-evidence"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TAMPERED = 0, 1, 2, 3

# Typer's usage error (Click's `UsageError`, vendored by recent Typer releases): the public
# `typer.BadParameter` derives from it in every Typer version, so it is found there.
USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


# Options several commands declare the same way, declared once (Typer reads `Annotated` aliases).
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
WindowEndOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", metavar="DATE", help="End of the window (default: now), e.g. 2026-11-20."
    ),
]
WindowDaysOption = Annotated[
    int, typer.Option(min=1, max=3660, metavar="DAYS", help="Window length in days.")
]


def policy_option(help: str) -> Any:
    """The `typer.Option` of `--policy POLICY`, with the command's own `help`: for
    `Annotated[str | None, policy_option(...)] = None` (read with `policy`)."""
    return typer.Option("--policy", metavar="POLICY", help=help)


PolicyOption = Annotated[str | None, policy_option("Verdict policy.")]


def repeatable(metavar: str, help: str, *, note: str = "", name: str | None = None) -> Any:
    """The `typer.Option` of a repeatable option (`--order A --order B`), read as a list: for
    `Annotated[list[str] | None, repeatable(...)] = None`.

    The help says "(repeatable)" after `help`, with `note` after it when given."""
    said = f"repeatable; {note}" if note else "repeatable"
    names = (name,) if name else ()
    return typer.Option(*names, metavar=metavar, help=f"{help} ({said}).")


@dataclass
class GlobalOptions:
    """The app-level options, accepted before or after the subcommand."""

    db: str | None = None
    config: Path | None = None
    debug: bool = False


state = GlobalOptions()
err = Console(stderr=True, soft_wrap=True, highlight=False)


def out() -> Console:
    """The console of stdout (a new one: tests swap `sys.stdout`)."""
    return Console(highlight=False, soft_wrap=True)


def settings() -> Settings:
    """The settings with `--db` and `--config` applied."""
    current = get_settings()
    update: dict[str, Any] = {}
    if state.db:
        update["database_url"] = state.db
    if state.config is not None:
        update["config_file"] = state.config
    return current.model_copy(update=update) if update else current


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print `error: message` on stderr (secrets redacted) and exit with `code`."""
    text = escape(redact(message))  # a carrier's echo of a key never reaches the terminal
    err.print(f"[bold red]error:[/] {text}", markup=True, highlight=False)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    """Turn every failure into one clear line and an exit code; never a traceback."""
    try:
        yield
    except (typer.Exit, typer.Abort, USAGE_ERROR):
        raise
    except KeyboardInterrupt:
        err.print("interrupted: nothing half-written was kept; run the same command to continue")
        raise typer.Exit(130) from None
    except TrackingError as exc:
        fail(str(exc))
    except Exception as exc:
        if state.debug:
            err.print(escape(redact(traceback.format_exc())), highlight=False)
            raise typer.Exit(EXIT_FAILED) from None
        fail(f"internal error ({type(exc).__name__}: {exc}); re-run with --debug for details")


def open_db(current: Settings, *, create: bool = False) -> Engine:
    """The database engine; without `create`, a missing SQLite file is a hint, never a new file.

    Only the commands that put data in (`pull`, `serve`, `keys create` ...) create a database:
    any other command run in the wrong folder would otherwise leave an empty one behind and
    report nothing, as if there were no orders.
    """
    url = current.database_url
    if not create:
        missing = _missing_sqlite_file(url)
        if missing is not None:
            fail(
                f"no database at {url} ({missing} does not exist); run `{PROG} pull ORDERS` "
                "first or pass --db"
            )
    return open_engine(url)


@contextmanager
def database(current: Settings | None = None, *, create: bool = False) -> Iterator[Engine]:
    """`open_db` (of `settings()` unless `current` is given) for a `with` block, disposed of
    after it."""
    engine = open_db(settings() if current is None else current, create=create)
    try:
        yield engine
    finally:
        engine.dispose()


def _missing_sqlite_file(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # open_engine says what is wrong with it
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path


def as_of(value: str | None, *, param: str = "--as-of") -> datetime:
    """A moment from `2026-11-20` (its end of day, UTC) or an ISO 8601 time; now when unset."""
    if not value:
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (use 2026-11-20 or 2026-11-20T12:00:00Z)", param_hint=param
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def policy(name: str | None, current: Settings) -> Policy:
    """The verdict policy `name` (the configured one when None)."""
    key = name or current.policy
    try:
        return resolve_policy(key, settings=current)
    except KeyError:
        raise typer.BadParameter(
            f"unknown policy {key!r}; known: {', '.join(POLICIES)}", param_hint="--policy"
        ) from None


def shown_note(shown: int, total: int, *, what: str = "") -> None:
    """Say on stderr that a list was cut: "showing 50 of 62 (use --limit N or --all)"."""
    if total > shown:
        noun = f" {what}" if what else ""
        err.print(f"showing {shown} of {total}{noun} (use --limit N or --all)", highlight=False)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def print_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    right: Sequence[str] = (),
    whole: Sequence[str] = (),
) -> None:
    """A table on a terminal; tab-separated lines under a header line on a pipe.

    Cells are data, never Rich markup; nothing is cut: the `whole` columns (ids, numbers)
    keep each line of a cell in one piece, other cells fold on a narrow terminal.
    """
    console = out()
    if not console.is_terminal:
        if title:
            err.print(title, markup=False)
        lines = ["\t".join(columns)] + ["\t".join(_cell(v) for v in row) for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        return
    table = Table(title=title, show_header=True, header_style="bold")
    for i, name in enumerate(columns):
        widest = max((len(line) for row in rows for line in _lines(row[i])), default=0)
        table.add_column(
            name,
            justify="right" if name in right else "left",
            overflow="fold",
            no_wrap=name in whole,
            min_width=widest if name in whole else None,
        )
    for row in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    console.print(table)


def _lines(value: object) -> list[str]:
    return ("" if value is None else str(value)).splitlines() or [""]


class _Rate(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f}/s" if speed else "–/s", style="progress.data.speed")


@contextmanager
def progress_bars(enabled: bool) -> Iterator[Callable[[str, int, int | None], None] | None]:
    """Bars with rate and time remaining on a terminal (stderr); None on a pipe.

    The hook takes (bar name, done, total); a total of None draws a bar without an end.
    """
    if not enabled or not err.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description:>12}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def hook(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        yield hook
