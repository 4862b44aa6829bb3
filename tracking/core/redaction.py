"""One redaction for every string that reaches the database, a log or a bundle (issue 15).

Secrets are the carrier credentials in force (the server's and each tenant's own): every
place that builds carrier settings registers their values here (`register_secrets`). A value
is known in every encoding a carrier exchange or an error message may carry it in: raw,
URL-encoded (`%2F` and `%2f`, `+` for spaces), JSON-escaped, base64 (standard and URL-safe,
padded or not), and for each pair of one carrier account's values the base64 of `a:b` and
`a&b` (HTTP Basic credentials; YunExpress joins with `&`). Query and form parameters named like
credentials (`app_key`, `sign`, `token`, ...) are redacted from logs whatever their value.

Finding is cheap, replacing is rare: a text is first searched with `in` for a few short probes
per value (the value, its URL-encoded and JSON forms, and the base64 of its first 3k bytes,
which begins the base64 of the value and of every pair it is in); only a text holding one is
rewritten with every form.

The passes, each through `redact`:

* **database**: `install_database_redaction(engine)` scrubs every string parameter of every
  statement (`before_cursor_execute`), so shipments' error messages, findings, verdict history,
  job errors and everything else written later are clean whatever their origin; raw bodies are
  bytes, scrubbed before they are hashed and stored (`carriers.http`);
* **logs**: `install_log_redaction()` wraps the formatter of every handler, so messages,
  arguments and tracebacks (`--debug`) are scrubbed after formatting;
* **bundles**: are rendered from the database, and so hold what it holds.

Only distinctive values are searched for (`distinctive`): at least `MIN_SECRET_LENGTH`
characters, and longer still when made only of digits (24) or hex digits (16). Replacing every
occurrence of a short or numeric "secret" (a six-digit customer number) would rewrite tracking
numbers, timestamps and the sha256 digests that link stored exchanges; such values are still
cut from the carrier's own request URLs and bodies (`carriers.http`).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, permutations
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "SENSITIVE_PARAMS",
    "distinctive",
    "install_database_redaction",
    "install_log_redaction",
    "redact",
    "redact_bytes",
    "register_secrets",
    "secret_forms",
]

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8
_HEX = re.compile(r"[0-9a-fA-F]+")

SENSITIVE_PARAMS: frozenset[str] = frozenset(
    {"app_key", "access_token", "sign", "token", "apikey", "api_key", "secret", "key"}
)
"""Query-string and form parameters whose values are always redacted."""

_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9_])((?:"
    + "|".join(sorted(SENSITIVE_PARAMS, key=len, reverse=True))
    + r")=)(?!\[REDACTED\]|%5BREDACTED%5D)[^&\s\"'<>#]+"
)


def _b64_forms(raw: bytes) -> set[str]:
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(raw).decode("ascii")
        forms |= {text, text.rstrip("=")}
    return forms


def distinctive(value: str) -> bool:
    """Whether `value` is unlikely to occur by chance in stored text (see the module doc)."""
    if len(value) < MIN_SECRET_LENGTH:
        return False
    if value.isdigit():
        return len(value) >= 24
    if _HEX.fullmatch(value):
        return len(value) >= 16
    return True


def _probes(value: str) -> set[str]:
    """Short forms of `value` that every one of its encodings contains.

    Base64 works in 3-byte groups from the start, so the base64 of `value`, and of every
    `value:other` / `value&other` pair, begins with the base64 of `value`'s first 3k bytes:
    searching for that prefix finds all of them at once.
    """
    quoted = {quote(value, safe=""), quote_plus(value, safe="")}
    probes = {value, *quoted, *(re.sub(r"%[0-9A-F]{2}", _lower, q) for q in quoted)}
    probes.add(json.dumps(value)[1:-1])
    raw = value.encode("utf-8")
    head = raw[: len(raw) // 3 * 3]
    probes |= {base64.b64encode(head).decode(), base64.urlsafe_b64encode(head).decode()}
    return probes


def secret_forms(values: Iterable[str], *, probes_only: bool = False) -> list[str]:
    """Every encoding of `values` (one carrier account's credentials) worth looking for,
    longest first; with `probes_only`, the few short forms that find any of them (`_probes`).
    """
    secrets = sorted({v for v in values if distinctive(v)})
    forms: set[str] = set()
    for value in secrets:
        forms |= _probes(value)
        if not probes_only:
            forms |= _b64_forms(value.encode("utf-8"))
    if not probes_only:
        for first, second in permutations(secrets, 2):
            for joiner in (":", "&"):
                forms |= _b64_forms(f"{first}{joiner}{second}".encode())
    return sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def _alternation(forms: Iterable[str]) -> str:
    return "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))


def _lower(match: re.Match[str]) -> str:
    return match.group(0).lower()


class _Registry:
    """The secrets known to this process: `probes` find one (a few short strings, searched
    with `in`, several times faster than one regular expression); `full` replaces every form."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self.probes: tuple[str, ...] = ()
        self.full: re.Pattern[str] | None = None

    def found(self, text: str) -> bool:
        return any(probe in text for probe in self.probes)

    def add(self, values: Iterable[str]) -> None:
        values = list(values)
        forms = set(secret_forms(values))
        if forms <= self._forms:
            return
        with self._lock:
            self._forms |= forms
            probes = set(self.probes) | set(secret_forms(values, probes_only=True))
            self.full = re.compile(_alternation(self._forms))
            self.probes = tuple(sorted(probes))


_REGISTRY = _Registry()


def register_secrets(values: Iterable[str]) -> None:
    """Make one carrier account's credential values (and their encodings) secret everywhere."""
    _REGISTRY.add(values)


def redact(text: str, *, params: bool = True) -> str:
    """`text` without any registered secret; with `params`, without the value of any
    credential-named parameter (`app_key=...`) either.

    The database pass leaves parameters alone (`params=False`): a tenant's webhook URL may
    carry its own `token=` that must be stored as given.
    """
    full = _REGISTRY.full
    if full is not None and _REGISTRY.found(text):
        text = full.sub(REDACTED, text)
    if params and "=" in text:
        text = _PARAM.sub(r"\1" + REDACTED, text)
    return text


BytesMatcher = tuple[tuple[bytes, ...], re.Pattern[bytes]]
"""(probes, full): the first find a secret fast, the second replaces all its forms."""


def bytes_pattern(values: Iterable[str]) -> BytesMatcher | None:
    """Compiled searches for `values` in all their forms, over bytes (None: nothing)."""
    values = list(values)
    forms = secret_forms(values)
    if not forms:
        return None
    probes = secret_forms(values, probes_only=True)
    return (
        tuple(p.encode("utf-8") for p in probes),
        re.compile(_alternation(forms).encode("utf-8")),
    )


def redact_bytes(data: bytes, matcher: BytesMatcher | None) -> bytes:
    """`data` (UTF-8 or not) without any secret `matcher` knows (see `bytes_pattern`).

    Bytes that hold no secret come back as they are (the same object): one compiled search
    over the whole body, and only a body that holds a secret is rewritten. A carrier can
    only echo the credentials it was sent, so each carrier's bodies are searched for its own.
    """
    if matcher is None or not any(probe in data for probe in matcher[0]):
        return data
    return matcher[1].sub(REDACTED.encode("ascii"), data)


# -- database ----------------------------------------------------------------------------------


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value, params=False)
    if isinstance(value, Mapping):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v) for v in value)
    return value


def _values(rows: Sequence[Any]) -> Iterable[Any]:
    """Every parameter value of `rows` (tuples or mappings), flattened."""
    if isinstance(rows[0], Mapping):
        return chain.from_iterable(row.values() for row in rows)
    if isinstance(rows[0], (list, tuple)):
        return chain.from_iterable(rows)
    return rows


def _before_execute(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
) -> tuple[str, Any]:
    if not parameters or not _REGISTRY.probes:
        return statement, parameters
    # One mapping even when `executemany` (SQLAlchemy's "insertmanyvalues" batches on
    # PostgreSQL pass one dict for many rows).
    many = executemany and not isinstance(parameters, Mapping)
    rows = parameters if many else (parameters,)
    # One search over every string of the statement (a bulk insert of thousands of events
    # included); rows are rewritten only when it finds something, which is rare.
    text = "\x00".join([v for v in _values(rows) if type(v) is str])
    if not text or not _REGISTRY.found(text):
        return statement, parameters
    if many:
        return statement, type(parameters)(_scrub(row) for row in parameters)
    return statement, _scrub(parameters)


def install_database_redaction(engine: Any) -> None:
    """Scrub every string parameter of every statement `engine` runs (idempotent)."""
    from sqlalchemy import event

    if not event.contains(engine, "before_cursor_execute", _before_execute):
        event.listen(engine, "before_cursor_execute", _before_execute, retval=True)


# -- logs --------------------------------------------------------------------------------------


class _RedactingFormatter(logging.Formatter):
    """Formats with the handler's own formatter, then scrubs the result (tracebacks too)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def install_log_redaction(*names: str) -> None:
    """Wrap the formatter of every handler of the root logger and of loggers `names`."""
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in names)]
    for logger in loggers:
        for handler in logger.handlers:
            if not isinstance(handler.formatter, _RedactingFormatter):
                handler.setFormatter(_RedactingFormatter(handler.formatter))
