"""The console in a real Chromium: the app served by Uvicorn on 127.0.0.1, driven by Playwright.

Playwright for Python drives Debian's `chromium` (`make test` installs it) through
`executable_path`, so no browser is downloaded (`playwright install` is never run). Every test
here is skipped, with the reason, only when no Chromium is installed.

Fixtures:

* `browser` (package) - one Chromium for all the browser tests, with only the system's fonts:
  on a machine without Chinese fonts the console's own (served from `/fonts/`) draws the
  Chinese, as it would for such a seller; `shots` waits for it before each screenshot.
* `console` / `console_postgres` - the real ASGI app (`create_app`: the API and the console
  exactly as `serve` mounts them) on a fresh SQLite / PostgreSQL database, pulling from the
  in-process sandbox, listening on a free port; two tenants with an API key each.
* `page` - a fresh browser context (no cookies) and page, with `shots` saving named screenshots.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    expect,
    sync_playwright,
)

from carriers.registry import all_carriers
from tests.conftest import fresh_postgres
from tracking.api import ApiOptions, create_app, create_key
from tracking.core.config import Settings
from tracking.sandbox.server import SandboxOptions, SandboxServer

CHROMIUM_NAMES = ("chromium", "chromium-browser")
"""Debian's package installs /usr/bin/chromium; Ubuntu's and older ones chromium-browser."""

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
"""Where the walk's named screenshots go (outside the tmp path, so they can be looked at)."""

WAIT_MS = 30_000
"""Longest wait for any element or navigation (a loaded shared CI machine is slow)."""


expect.set_options(timeout=WAIT_MS)


def chromium_executable() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


# -- the browser -----------------------------------------------------------------------------


# Package scope, not session: sync Playwright marks an event loop as running in the main
# thread while it lives, and pytest-asyncio's tests elsewhere need that thread's loop free.
@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    if chromium_executable() is None:
        pytest.skip("no Chromium installed (apt-get install chromium, or make sysdeps)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    executable = chromium_executable()
    assert executable is not None
    chromium = playwright_driver.chromium.launch(executable_path=executable)
    yield chromium
    chromium.close()


# -- the server ------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """Uvicorn that says when it listens (an event, so tests wait on it, not on a timer)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    def install_signal_handlers(self) -> None:
        """The server runs in a thread: pytest keeps its own signal handlers."""


@dataclass
class Console:
    """A running console: where it listens, its database, and two tenants' API keys."""

    url: str
    engine: sa.Engine
    data_dir: Path
    now: datetime
    keys: dict[str, str] = field(default_factory=dict)

    def at(self, path: str) -> str:
        return self.url + path


TENANT = "shop-a"
OTHER = "shop-b"


def console_app(engine: sa.Engine, data_dir: Path, *, now: datetime) -> Any:
    """The app as `serve --sandbox` builds it, the sandbox's world clock held at `now`."""
    carriers = all_carriers()
    sandbox = SandboxServer(carriers, SandboxOptions(now=now, enforce_limits=False))
    options = ApiOptions(
        data_dir=data_dir,
        job_poll_seconds=0.05,
        webhook_poll_seconds=0.05,
        fetcher_options={"rate_overrides": dict.fromkeys(carriers, 500.0)},
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return create_app(settings, engine=engine, network=sandbox.network(), options=options)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run `app` with Uvicorn in a thread on a free 127.0.0.1 port; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="console-server"
    )
    thread.start()
    try:
        if not server.ready.wait(timeout=WAIT_MS / 1000):
            raise RuntimeError("the console server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_MS / 1000)
        sock.close()


@pytest.fixture
def console_now() -> datetime:
    """The world clock of the sandbox: the real time (the console pulls "up to now")."""
    return datetime.now(UTC).replace(microsecond=0)


def _start_console(url: str, tmp_path: Path, make_engine: Any, now: datetime) -> Iterator[Console]:
    engine: sa.Engine = make_engine(url)
    keys = {tenant: create_key(engine, tenant, name="browser test") for tenant in (TENANT, OTHER)}
    data_dir = tmp_path / "data"
    with serving(console_app(engine, data_dir, now=now)) as base:
        yield Console(url=base, engine=engine, data_dir=data_dir, now=now, keys=keys)


@pytest.fixture
def console(
    sqlite_url: str, tmp_path: Path, make_engine: Any, console_now: datetime
) -> Iterator[Console]:
    """The console on a fresh SQLite database, tenants `shop-a` and `shop-b` with a key each."""
    yield from _start_console(sqlite_url, tmp_path, make_engine, console_now)


@pytest.fixture
def console_postgres(
    tmp_path: Path, make_engine: Any, console_now: datetime, pg_skip_reason: str | None
) -> Iterator[Console]:
    """The same on a fresh PostgreSQL database (jobs then run on Procrastinate); skipped,
    with the reason, when PostgreSQL is not running."""
    with fresh_postgres(pg_skip_reason) as url:
        yield from _start_console(url, tmp_path, make_engine, console_now)


# -- pages -----------------------------------------------------------------------------------


@dataclass
class Shots:
    """Named, numbered screenshots of one test, full page, in build/screenshots/<test>/."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Page, name: str) -> Path:
        # Chinese is drawn with the console's own font where the system has none: wait for it
        page.evaluate("document.fonts.ready.then(() => true)")
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = SCREENSHOTS / request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Shots(folder)


@pytest.fixture
def locale() -> str:
    """The browser's language (a test may parametrize `locale` to change it)."""
    return "en-US"


@pytest.fixture
def context(browser: Browser, locale: str) -> Iterator[BrowserContext]:
    """A fresh profile (no cookies), in `locale`, downloads accepted, a laptop's viewport."""
    ctx = browser.new_context(
        locale=locale,
        accept_downloads=True,
        viewport={"width": 1280, "height": 800},
    )
    ctx.set_default_timeout(WAIT_MS)
    ctx.set_default_navigation_timeout(WAIT_MS)
    yield ctx
    ctx.close()


_SUBRESOURCES = frozenset({"script", "stylesheet", "image", "font", "fetch", "xhr", "eventsource"})


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails its test on a script error, a CSP refusal or a broken subresource.

    A page's own status (401, 403, 404) is the test's to assert; a script, style sheet, image
    or htmx request that fails is a defect of the page.
    """
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console error: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type in _SUBRESOURCES:
            problems.append(f"{response.status} for {response.request.method} {response.url}")

    tab.on("console", on_console)
    tab.on("response", on_response)
    yield tab
    tab.close()
    assert not problems, "the browser reported:\n" + "\n".join(problems)
