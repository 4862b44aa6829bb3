"""Shared fixtures: cassette parametrization for carrier contract tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings

from tests.cassette import Cassette, cassettes_for, load

# Hypothesis: `make test` is deterministic (the same examples on every run and machine, no
# example database carried between runs); `make fuzz` (`--hypothesis-profile=fuzz`) draws fresh
# random examples, FUZZ_FACTOR times as many (see tests/fuzzing.py).
settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, print_blob=True)
settings.load_profile("deterministic")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TRACK_EVIDENCE_* variable or .env of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith("TRACK_EVIDENCE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    from tracking.core.config import get_settings

    get_settings.cache_clear()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give every contract test that takes `cassette` one case per file of its carrier."""
    if "cassette" not in metafunc.fixturenames or metafunc.cls is None:
        return
    carrier: Any = getattr(metafunc.cls, "carrier", None)
    paths = cassettes_for(carrier.code) if carrier is not None else []
    metafunc.parametrize(
        "cassette",
        [pytest.param(p, id=p.stem) for p in paths],
        indirect=True,
    )


@pytest.fixture
def cassette(request: pytest.FixtureRequest) -> Cassette:
    return load(request.param)


# -- databases: a fresh one per test, on SQLite and (when running) PostgreSQL ----------------

PG_ADMIN_URL = os.environ.get(
    "TRACK_EVIDENCE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _pg_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        url = sa.engine.make_url(PG_ADMIN_URL)
        with psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname=url.database, connect_timeout=2
        ):
            return None
    except Exception as exc:
        return f"PostgreSQL is not running at {PG_ADMIN_URL.split('@')[-1]}: {exc}".strip()


@pytest.fixture(scope="session")
def pg_skip_reason() -> str | None:
    return _pg_reason()


@contextmanager
def fresh_postgres(reason: str | None) -> Iterator[str]:
    if reason:
        pytest.skip(reason)
    name = f"te_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_skip_reason: str | None
) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'track-evidence.db'}"
        return
    with fresh_postgres(pg_skip_reason) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'track-evidence.db'}"


@pytest.fixture
def make_engine() -> Iterator[Callable[[str], sa.Engine]]:
    """Open (and migrate) engines that are disposed after the test."""
    from tracking.store.engine import open_engine

    engines: list[sa.Engine] = []

    def make(url: str) -> sa.Engine:
        engine = open_engine(url)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
