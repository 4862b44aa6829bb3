"""The command line as a new user meets it: options anywhere, plain help, one-line errors."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

import tracking.cli.common as common
from tests.test_pull import FAST_RATES, write_orders
from tracking import __version__
from tracking.cli.app import app
from tracking.cli.conventions import hoist_global_options

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
TYPE_NAMES = re.compile(r"<(bool|str|int|float|path|file|list\[\w+\]|int range|float range)>")


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with a sandbox pull of a few orders of two carriers (read-only for tests)."""
    folder = tmp_path_factory.mktemp("pulled")
    orders = folder / "orders.csv"
    write_orders(orders, ["cainiao", "yunexpress"], per_scenario=1)
    db = f"sqlite:///{folder / 'pulled.db'}"
    result = runner.invoke(
        app,
        ["--db", db, "pull", str(orders), "--sandbox", "--as-of", "2026-11-20", "--json"],
        env=FAST_RATES,
    )
    assert result.exit_code == 0, result.output
    return db


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(getattr(command, "commands", None), dict):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name)


# -- 1. global options before or after the subcommand ---------------------------------------


def test_db_is_taken_before_or_after_the_command(pulled: str) -> None:
    before = runner.invoke(app, ["--db", pulled, "status", "--json", "--all"])
    after = runner.invoke(app, ["status", "--json", "--all", "--db", pulled])
    equals = runner.invoke(app, ["status", f"--db={pulled}", "--json", "--all"])
    assert before.exit_code == after.exit_code == equals.exit_code == 0, after.output
    assert json.loads(before.stdout) == json.loads(after.stdout) == json.loads(equals.stdout)
    assert len(json.loads(after.stdout)) > 4


def test_global_options_after_a_group_command_and_the_later_value_wins(
    pulled: str, tmp_path: Path
) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    result = runner.invoke(app, ["--db", missing, "keys", "list", "--db", pulled])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split("\t")[0] == "id"


def test_hoisting_leaves_values_and_what_follows_a_double_dash_alone() -> None:
    assert hoist_global_options(["status", "--db", "X", "--limit", "3"]) == [
        "--db",
        "X",
        "status",
        "--limit",
        "3",
    ]
    assert hoist_global_options(["--debug", "keys", "list", "--config=c.toml"]) == [
        "--debug",
        "--config=c.toml",
        "keys",
        "list",
    ]
    assert hoist_global_options(["parse", "--carrier", "x", "--", "--db"]) == [
        "parse",
        "--carrier",
        "x",
        "--",
        "--db",
    ]


def test_config_file_is_a_global_option_and_a_missing_one_is_a_usage_error(
    pulled: str, tmp_path: Path
) -> None:
    config = tmp_path / "te.toml"
    config.write_text("[carriers.cainiao]\nrate_per_second = 0.5\n", encoding="utf-8")
    result = runner.invoke(app, ["carriers", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    rows = {r["code"]: r for r in json.loads(result.stdout)}
    assert rows["cainiao"]["rate_per_second"] == 0.5
    result = runner.invoke(app, ["carriers", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "nope.toml: no such file" in result.stderr


# -- 2. --version ----------------------------------------------------------------------------


def test_version_alone_prints_the_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"track-evidence {__version__}"


# -- 3. help -----------------------------------------------------------------------------------


def test_every_help_is_plain_with_conventional_metavars() -> None:
    top = typer.main.get_command(app)
    paths = [(), *commands(top)]
    assert ("keys", "list") in paths
    assert ("pull",) in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, (path, result.output)
        text = result.stdout
        assert not TYPE_NAMES.search(text), (path, text)
        assert not re.search(r"\{[a-z_]+\}", text), (path, text)  # {orders}
        assert "╭" not in text, path  # no Rich panels
        usage = text.splitlines()[0]
        assert usage.startswith("Usage: track-evidence"), usage
        if path:
            assert "--db URL" in text, path  # the global options are named in every help
    pull = runner.invoke(app, ["pull", "--help"], env={"COLUMNS": "100"}).stdout
    assert pull.splitlines()[0] == "Usage: track-evidence pull [OPTIONS] ORDERS"
    assert "--as-of DATE" in pull
    assert "--sandbox " in pull  # a flag takes no value
    assert "--map FIELD=" in pull


# -- 4. usage errors -------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("TRACK_EVIDENCE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "tracking", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_usage_error_is_one_plain_line_with_exit_code_2(tmp_path: Path) -> None:
    done = run_cli("pull", "--x", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "track-evidence: error: no such option --x (see track-evidence pull --help)\n"
    )
    done = run_cli("status", "--verdict", "maybe", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("track-evidence: error: invalid value for --verdict: use pass")
    assert done.stderr.endswith("(see track-evidence status --help)\n")
    done = run_cli("keys", "revoke", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "track-evidence: error: missing argument 'ID'. (see track-evidence keys revoke --help)\n"
    )
    assert not list(tmp_path.iterdir())  # and nothing was written


# -- 5. lists that are cut say so ------------------------------------------------------------


def test_a_cut_list_says_how_much_was_left_out(pulled: str) -> None:
    listed = runner.invoke(app, ["status", "--db", pulled, "--json", "--all"])
    everything = json.loads(listed.stdout)
    result = runner.invoke(app, ["status", "--db", pulled, "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 + 2  # header and two orders
    assert f"showing 2 of {len(everything)} orders (use --limit N or --all)" in result.stderr
    result = runner.invoke(app, ["status", "--db", pulled, "--all"])
    assert len(result.stdout.splitlines()) == 1 + len(everything)
    assert "showing" not in result.stderr
    for _ in range(3):
        runner.invoke(app, ["keys", "create", "--tenant", "shop", "--db", pulled])
    result = runner.invoke(app, ["keys", "list", "--limit", "1", "--db", pulled])
    assert result.exit_code == 0, result.output
    assert "showing 1 of 3 keys (use --limit N or --all)" in result.stderr


# -- 6. no empty database out of nowhere -----------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["status"], id="status"),
        pytest.param(["report"], id="report"),
        pytest.param(["refresh"], id="refresh"),
        pytest.param(["export", "--out", "bundle"], id="export"),
        pytest.param(["keys", "list"], id="keys-list"),
        pytest.param(["groups", "list"], id="groups-list"),
    ],
)
def test_a_command_in_an_empty_folder_gives_a_hint_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "no database at sqlite:///./track-evidence.db" in done.stderr
    assert "run `track-evidence pull ORDERS` first or pass --db" in done.stderr
    assert not list(tmp_path.iterdir())


def test_pull_is_what_creates_the_database(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao"], per_scenario=1)
    done = subprocess.run(
        [sys.executable, "-m", "tracking", "pull", "orders.csv", "--sandbox"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **FAST_RATES},
        timeout=300,
        check=False,
    )
    assert (tmp_path / "track-evidence.db").exists(), done.stderr
    assert run_cli("status", "--json", cwd=tmp_path).returncode == 0


# -- 7. pipes: full ids, tab-separated columns, a header line ---------------------------------


def test_on_a_pipe_ids_are_whole_and_columns_tab_separated(pulled: str) -> None:
    created = runner.invoke(
        app, ["--db", pulled, "keys", "create", "--tenant", "a-rather-long-store-name-1234"]
    )
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["--db", pulled, "keys", "list", "--all"], env={"COLUMNS": "40"})
    lines = listed.stdout.splitlines()
    assert lines[0].split("\t") == ["id", "tenant", "name", "prefix", "created", "revoked"]
    ids = [line.split("\t")[0] for line in lines[1:]]
    assert all(re.fullmatch(r"key_[0-9a-f]{16}", i) for i in ids), ids
    assert "…" not in listed.stdout
    revoked = runner.invoke(app, ["--db", pulled, "keys", "revoke", ids[-1]])
    assert revoked.exit_code == 0, revoked.output
    status = runner.invoke(app, ["--db", pulled, "status", "--all"], env={"COLUMNS": "40"})
    header, *rows = status.stdout.splitlines()
    assert header.split("\t") == [
        "tenant",
        "order",
        "carrier",
        "tracking number",
        "dest",
        "verdict",
        "why",
    ]
    assert all(len(r.split("\t")) == 7 for r in rows)
    assert "…" not in status.stdout
    assert "━" not in status.stdout + status.stderr  # no progress or table rules on a pipe


# -- 8. progress bars on a terminal only ----------------------------------------------------


def test_progress_bars_show_rate_and_time_left_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(common, "err", terminal)
    with common.progress_bars(True) as hook:
        assert hook is not None
        hook("cainiao", 0, 40)
        hook("cainiao", 40, 40)
    shown = screen.getvalue()
    assert "cainiao" in shown
    assert "40/40" in shown
    assert "/s" in shown
    assert "eta" in shown
    monkeypatch.setattr(common, "err", Console(file=io.StringIO(), force_terminal=False))
    with common.progress_bars(True) as hook:
        assert hook is None


# -- 9. examples/make_orders.py ----------------------------------------------------------------


def test_make_orders_runs_as_the_readme_shows(tmp_path: Path) -> None:
    out = tmp_path / "orders.csv"
    done = subprocess.run(
        [sys.executable, "examples/make_orders.py", "--rows", "120", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("order_id,order_date,marketplace,carrier,tracking_number")
    assert len(lines) == 1 + 120
    assert (
        "--rows N"
        in subprocess.run(
            [sys.executable, "examples/make_orders.py", "--help"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=True,
        ).stdout
    )
    alone = subprocess.run(
        [sys.executable, "examples/make_orders.py", "--rows", "5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert alone.returncode == 2
    assert "--rows and --out go together" in alone.stderr
