"""`track-evidence console`: the seller's console on this computer, opened already signed in.

The server listens on 127.0.0.1 only, on a free port the system picks (the socket is bound
before the browser opens, so the first request is never refused). The link it prints and
opens carries a one-time token: it signs one browser in once, for ten minutes, and is useless
after (`tracking.store.console_sessions`).
"""

from __future__ import annotations

import socket
import webbrowser
from typing import Annotated

import typer

from tracking.cli.common import errors, fail, open_db, settings
from tracking.cli.serve import choose_network

__all__ = ["console_command"]


def console_command(
    tenant: Annotated[
        str,
        typer.Option(metavar="STORE", help="The store (tenant) to sign in as; its orders only."),
    ] = "default",
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, metavar="PORT", help="Port on 127.0.0.1 (0: a free one)."),
    ] = 0,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Pulls use the built-in sandbox (a demo).")
    ] = False,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the sign-in link; do not open it.")
    ] = False,
) -> None:
    """Open the seller's web console for one store, on this computer only."""
    with errors():
        _console(tenant=tenant, port=port, sandbox=sandbox, no_browser=no_browser)


def _console(*, tenant: str, port: int, sandbox: bool, no_browser: bool) -> None:
    import uvicorn

    from carriers.registry import all_carriers
    from tracking.api import ApiOptions, create_app
    from tracking.console import link_path
    from tracking.core.redaction import install_log_redaction
    from tracking.store.console_sessions import LINK_TTL, create_link

    current = settings()
    store = tenant.strip()
    if not store or len(store) > 128 or any(ord(c) < 32 for c in store):
        fail("--tenant: a store name is 1 to 128 printable characters")
    engine = open_db(current, create=True)  # the console is where a seller starts
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        engine.dispose()
        fail(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})")
    try:
        carriers = all_carriers()
        network = choose_network(carriers, current, sandbox=sandbox)
        app = create_app(
            current,
            engine=engine,
            network=network,
            options=ApiOptions(data_dir=current.data_dir, job_concurrency=current.job_concurrency),
        )
        token = create_link(engine, tenant=store)
        bound = listener.getsockname()[1]
        url = f"http://127.0.0.1:{bound}{link_path(token)}"
        minutes = int(LINK_TTL.total_seconds() // 60)
        typer.echo(f"console of store {store!r} on http://127.0.0.1:{bound}/", err=True)
        typer.echo(f"sign-in link (works once, for {minutes} minutes):", err=True)
        typer.echo(url)
        if not no_browser and not webbrowser.open(url):
            typer.echo("(no browser found: open the link above yourself)", err=True)
        config = uvicorn.Config(app, log_level="warning", proxy_headers=False)
        install_log_redaction("uvicorn", "uvicorn.error", "uvicorn.access")
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()
        engine.dispose()
