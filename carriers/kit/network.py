"""Where carrier requests go: an httpx transport, and the accounts that reach it.

The seam the sandbox (and any test) uses instead of `sandbox=` flags threaded through every
layer: the CLI or the API decides once ("this run talks to the sandbox") and hands a
`Network` down; the fetcher gives its transport to every HTTP client and its accounts to
every adapter, and knows nothing of sandboxes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["Network"]


@dataclass(frozen=True, slots=True)
class Network:
    """An httpx transport and, when it serves only some carriers, their accounts on it.

    **Parameters:**

    * **transport** - what sends the requests: the real network when None, an in-process
      app's `httpx.ASGITransport`, a test's `httpx.MockTransport`.
    * **accounts** - carrier code -> the settings it is reached with there (its `base_url`
      and the credentials that network accepts), which replace the configured ones. None:
      every carrier, with the configured accounts (tenants' own included). When given, a
      carrier without an entry cannot be reached through this network.
    * **name** - what to call it in messages ("sandbox at http://127.0.0.1:8001").
    """

    transport: httpx.AsyncBaseTransport | None = None
    accounts: Mapping[str, Mapping[str, Any]] | None = None
    name: str = "the carriers' APIs"

    def reaches(self, code: str) -> bool:
        """Whether carrier `code` can be reached through this network."""
        return self.accounts is None or code in self.accounts

    def account(self, code: str) -> dict[str, Any]:
        """The settings that replace carrier `code`'s configured ones (none by default)."""
        return dict(self.accounts.get(code, {})) if self.accounts is not None else {}

    @property
    def own_accounts(self) -> bool:
        """Whether the configured accounts are used (tenants' own ones included)."""
        return self.accounts is None
