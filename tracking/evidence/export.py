"""The one export: what `track-evidence export`, the API's bundle job and the worker all call.

`export_bundle` reads every judged order of a tenant's window from the database (judged again
first under `policy` when one is given), decides which orders `upload/` cites
(`tracking.evidence.citing.Citation`) and writes the bundle with
`tracking.evidence.write_bundle`: the reviewer's `upload/`, the seller's `precheck/` (with the
window's portfolio summary, `tracking.read.portfolio`, as `report` and the API show it), raw
responses, manifest and sums.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from tracking.core.exceptions import InputError
from tracking.evidence import BundleResult, load_signing_key, write_bundle
from tracking.evidence.citing import Citation
from tracking.judge.policies import Policy
from tracking.read.assemble import iter_order_evidence
from tracking.read.portfolio import read_portfolio
from tracking.read.rejudge import rejudge
from tracking.read.views import BundleInfo, OrderEvidence
from tracking.store.evidence_reads import stored_policies
from tracking.store.exchanges import raw_body

__all__ = ["ExportRequest", "export_bundle", "moment", "zip_path"]

NOT_SET = "(not set)"


def moment(value: str) -> datetime:
    """`2026-11-20` (the end of that day, UTC) or an ISO time (UTC when it has no offset)."""
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value)
            return day.replace(hour=23, minute=59, second=59, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{value!r} is not a date (use 2026-11-20 or 2026-11-20T12:00:00Z)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def zip_path(out: Path) -> Path:
    """`out` with a `.zip` suffix (`--zip` writes NAME.zip)."""
    return out if out.suffix.lower() == ".zip" else out.with_name(out.name + ".zip")


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """Everything one export needs; `seller` defaults to the tenant, `created_at` to now."""

    out: Path
    tenant: str = "default"
    reference_id: str | None = None
    seller: str | None = None
    as_of: datetime | None = None
    window_days: int = 90
    created_at: datetime | None = None
    verdicts: Sequence[str] = ()
    orders: Sequence[str] = ()
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    as_zip: bool = False
    policy: Policy | None = None
    signing_key: Path | None = None
    tool_version: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)


def export_bundle(
    engine: Engine,
    request: ExportRequest,
    *,
    carriers: Mapping[str, Any],
    progress: Callable[[int], None] | None = None,
) -> BundleResult:
    """Write the evidence bundle `request` describes; raises `InputError` for bad options."""
    as_of = request.as_of or datetime.now(UTC)
    window = (as_of - timedelta(days=request.window_days), as_of)
    if request.policy is not None:
        rejudge(engine, policy=request.policy, as_of=as_of, tenant=request.tenant, window=window)
        policy_name = request.policy.name
    else:
        # the policy the stored verdicts were judged under (or several)
        names = stored_policies(engine, tenant=request.tenant, window=window)
        policy_name = "+".join(names) or "default"
    citation = Citation(
        verdicts=tuple(request.verdicts) or ("pass",),
        orders=tuple(request.orders),
        include=tuple(request.include),
        exclude=tuple(request.exclude),
    )
    info = BundleInfo(
        reference_id=request.reference_id or NOT_SET,
        seller=request.seller or request.tenant,
        window_start=window[0],
        window_end=window[1],
        created_at=request.created_at or datetime.now(UTC),
        policy=policy_name,
        tool_version=request.tool_version,
        filters={k: v for k, v in request.filters.items() if v},
    )

    def orders() -> Iterator[OrderEvidence]:
        stream = iter_order_evidence(
            engine, carriers=carriers, tenant=request.tenant, window=window
        )
        for done, order in enumerate(stream, start=1):
            yield order
            if progress is not None:
                progress(done)

    key = load_signing_key(request.signing_key) if request.signing_key else None
    return write_bundle(
        zip_path(request.out) if request.as_zip else request.out,
        info=info,
        orders=orders(),
        raw_body=lambda sha: raw_body(engine, sha),
        as_zip=request.as_zip,
        signing_key=key,
        citation=citation,
        portfolio=read_portfolio(
            engine,
            tenant=request.tenant,
            window=window,
            carrier_names={key: getattr(c, "name", key) for key, c in carriers.items()},
        ),
    )
