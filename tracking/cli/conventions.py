"""How `track-evidence` behaves like the command-line tools its users already know.

- Global options (`--db`, `--config`, `--debug`) work before or after the subcommand:
  `track-evidence status --db X` is `track-evidence --db X status`.
- Help is plain text with conventional metavars (`--as-of DATE`, `--seller TEXT`, `ORDERS`),
  never type names such as `<str>` or `{orders}`.
- A usage error is one line on stderr, exit code 2:
  `track-evidence: error: no such option --x (see track-evidence pull --help)`.

Built on Typer's documented extension points (`Typer(cls=...)`, `command(cls=...)`) and the
Click methods they inherit (`parse_args`, `main`, `collect_usage_pieces`, `format_options`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from tracking.cli.common import PROG, USAGE_ERROR, err

__all__ = ["GLOBAL_FLAGS", "GLOBAL_WITH_VALUE", "Command", "CommandLine", "hoist_global_options"]

GLOBAL_WITH_VALUE = ("--db", "--config")
GLOBAL_FLAGS = ("--debug",)
GLOBAL_NOTE = (
    "Global options, before or after the command: --db URL (database), --config FILE "
    "(TOML settings), --debug (internal errors in full)."
)


def _takes_global(token: str) -> bool:
    return token in GLOBAL_FLAGS or token.split("=", 1)[0] in GLOBAL_WITH_VALUE


def hoist_global_options(args: Sequence[str]) -> list[str]:
    """Move the global options found after the subcommand in front of it.

    `status --db X --verdict fail` becomes `--db X status --verdict fail`. Given twice, the
    later value wins, as with any repeated option. Nothing after `--` moves.
    """
    tokens = list(args)
    start = 0
    while start < len(tokens):  # skip the options given before the subcommand
        token = tokens[start]
        if token == "--" or not token.startswith("-"):
            break
        start += 2 if token in GLOBAL_WITH_VALUE else 1
    if start >= len(tokens) or tokens[start] == "--":
        return tokens
    moved: list[str] = []
    rest: list[str] = []
    i = start + 1
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            rest.extend(tokens[i:])
            break
        if token in GLOBAL_WITH_VALUE:
            moved.extend(tokens[i : i + 2])
            i += 2
            continue
        (moved if _takes_global(token) else rest).append(token)
        i += 1
    return [*tokens[:start], *moved, tokens[start], *rest]


def _conventional_metavars(commands: Iterable[Any]) -> None:
    """Give every option that takes a value, and every argument, an upper-case metavar."""
    for command in commands:
        sub = getattr(command, "commands", None)
        if isinstance(sub, dict):
            _conventional_metavars(sub.values())
            continue
        if command.epilog is None:
            command.epilog = GLOBAL_NOTE
        for param in command.params:
            if param.metavar is not None or not param.name:
                continue
            takes_value = not getattr(param, "is_flag", False) and not getattr(param, "count", 0)
            if param.param_type_name == "argument" or takes_value:
                param.metavar = param.name.upper()


def _usage_name(param: Any) -> str:
    name = str(param.metavar or (param.name or "").upper())
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


class Command(TyperCommand):
    """A command whose usage line reads `track-evidence pull [OPTIONS] ORDERS`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        pieces += [_usage_name(p) for p in self.get_params(ctx) if p.param_type_name == "argument"]
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                help_text = getattr(param, "help", None) or ""
                arguments.append((_usage_name(param).strip("[]"), help_text))
            elif (record := param.get_help_record(ctx)) is not None:
                options.append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)


def _message(exc: Exception) -> str:
    """A Click exception's message (`format_message`) as one line."""
    format_message: Callable[[], str] = getattr(exc, "format_message", lambda: str(exc))
    return _one_line(format_message())


def _one_line(message: str) -> str:
    text = " ".join(message.split())
    if text.startswith("No such option: "):
        text = "no such option " + text[len("No such option: ") :]
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


class CommandLine(TyperGroup):
    """The `track-evidence` group: global options anywhere, usage errors as one line."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _conventional_metavars(self.commands.values())
        self._path = PROG  # the subcommand being run, for "see ... --help"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        path, remaining = f"{ctx.command_path} {name}", list(rest)
        sub: Any = command
        while remaining and remaining[0] in (getattr(sub, "commands", None) or {}):
            path += f" {remaining[0]}"  # a command of a group: `keys list`
            sub, remaining = sub.commands[remaining[0]], remaining[1:]
        self._path = path
        return name, command, rest

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            result = super().main(
                args, prog_name or PROG, complete_var, False, windows_expand_args, **extra
            )
        except USAGE_ERROR as exc:
            ctx = getattr(exc, "ctx", None)
            if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
                typer.echo(ctx.get_help())  # `track-evidence` alone: the help, as Click does
                sys.exit(2)
            path = ctx.command_path if ctx is not None else self._path
            err.print(f"{PROG}: error: {_message(exc)} (see {path} --help)", markup=False)
            sys.exit(2)
        except typer.Abort:
            err.print(f"{PROG}: aborted", markup=False)
            sys.exit(1)
        except Exception as exc:
            code = getattr(exc, "exit_code", None)
            if code is None or not hasattr(exc, "format_message"):
                raise
            err.print(f"{PROG}: error: {_message(exc)}", markup=False)
            sys.exit(code)
        sys.exit(result if isinstance(result, int) else 0)
