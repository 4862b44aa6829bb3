"""Upload an orders file: the export recognized, a preview as read, a mapping step, import.

The file is read by `tracking.ingest` exactly as `pull` and `POST /v1/orders` read it; the
mapping step's choices become the same `--map field="Header"` columns; the import is the API's
`import_orders`. Between the steps the upload waits in the data folder
(`<data_dir>/console-uploads/<random id>/`) beside a note of its tenant, and only that tenant's
pages find it; uploads older than a day are removed.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from tracking.api.guard import CONSOLE_UPLOAD_PATH
from tracking.api.orders_import import import_orders
from tracking.api.problems import ApiProblem
from tracking.api.quotas import check_order_quota, one_import_at_a_time
from tracking.console.web import ConsoleError, Page, PageDep, Posted, redirect, render
from tracking.core.exceptions import InputError
from tracking.core.fields import from_fields
from tracking.ingest import ParcelRow, read_orders_bytes
from tracking.ingest import RejectedRow as IngestRejected
from tracking.ingest.headers import MissingColumns
from tracking.ingest.profiles import FIELDS

__all__ = ["UPLOAD_PATH", "router"]

router = APIRouter()

UPLOAD_PATH = CONSOLE_UPLOAD_PATH
"""Where the file is posted (the request guard gives it the upload size limit)."""

_PREVIEW_ROWS = 20
_LISTED_REJECTS = 200
_KEEP_SECONDS = 24 * 3600
_ID_CHARS = frozenset("0123456789abcdef")


@dataclass(slots=True)
class Upload:
    """An uploaded file waiting for its import."""

    id: str
    root: Path
    tenant: str
    name: str
    timezone: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    imported: dict[str, Any] | None = None

    @property
    def data(self) -> bytes:
        return (self.root / "file").read_bytes()

    def save(self) -> None:
        note = {
            "tenant": self.tenant,
            "name": self.name,
            "timezone": self.timezone,
            "columns": self.columns,
            "imported": self.imported,
        }
        (self.root / "note.json").write_text(json.dumps(note), encoding="utf-8")


def _base(page: Page) -> Path:
    return page.context.options.data_dir / "console-uploads"


def _sweep(base: Path) -> None:
    if not base.is_dir():
        return
    cutoff = time.time() - _KEEP_SECONDS
    for folder in base.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _load(page: Page, upload_id: str) -> Upload:
    """The tenant's upload `upload_id`; 404 for an unknown id or another tenant's."""
    missing = ConsoleError(404, page.t("upload.not_found"))
    if len(upload_id) != 32 or not set(upload_id) <= _ID_CHARS:
        raise missing
    root = _base(page) / upload_id
    try:
        note = json.loads((root / "note.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise missing from None
    if note.get("tenant") != page.tenant:
        raise missing
    return Upload(
        id=upload_id,
        root=root,
        tenant=page.tenant,
        name=str(note.get("name", "")),
        timezone=note.get("timezone"),
        columns=dict(note.get("columns") or {}),
        imported=note.get("imported"),
    )


@router.get(UPLOAD_PATH)
async def upload_page(page: PageDep) -> Response:
    """The upload form."""
    return render(page, "upload.html", failed="", **_limits(page))


def _limits(page: Page) -> dict[str, Any]:
    limit = page.context.options.max_upload_bytes
    return {"limit_mb": max(1, limit // (1024 * 1024)), "limit_bytes": limit}


@router.post(UPLOAD_PATH)
async def upload_file(
    page: Posted,
    file: UploadFile,
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Keep the file for its preview and send the browser there."""
    data = await file.read()
    await file.close()
    if not data.strip():
        return render(
            page, "upload.html", failed=page.t("upload.empty"), status=422, **_limits(page)
        )
    name = Path(file.filename or "orders.csv").name[:200] or "orders.csv"
    upload_id = secrets.token_hex(16)
    base = _base(page)

    def keep() -> None:
        _sweep(base)
        root = base / upload_id
        root.mkdir(parents=True)
        (root / "file").write_bytes(data)
        Upload(
            id=upload_id,
            root=root,
            tenant=page.tenant,
            name=name,
            timezone=timezone.strip() or None,
        ).save()

    await run_in_threadpool(keep)
    return redirect(f"{UPLOAD_PATH}/{upload_id}")


@dataclass(slots=True)
class _Preview:
    profile: str
    sheet: str
    header_row: int
    zone: tuple[str, dict[str, str]]  # how times without a zone are read: text key, values
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    rejected: list[IngestRejected]
    rejected_total: int
    rows_read: int
    orders_read: int
    item_rows: int


def _preview(upload: Upload) -> _Preview:
    """Read the whole file as `pull` would (nothing stored); raises `InputError`."""
    orders = read_orders_bytes(
        upload.data,
        source=upload.name,
        tenant=upload.tenant,
        timezone=upload.timezone,
        columns=upload.columns or None,
    )
    rows: list[dict[str, Any]] = []
    rejected: list[IngestRejected] = []
    rejected_total = 0
    for item in orders:
        if isinstance(item, IngestRejected):
            rejected_total += 1
            if len(rejected) < _LISTED_REJECTS:
                rejected.append(item)
            continue
        if len(rows) >= _PREVIEW_ROWS:
            continue
        order = item.order if isinstance(item, ParcelRow) else item
        rows.append(
            {
                "row": item.row_number,
                "order_id": order.order_id,
                "order_date": order.order_date,
                "tracking_number": order.tracking_number,
                "carrier": order.carrier or order.carrier_declared,
                "country": order.destination_country,
                "parcel": isinstance(item, ParcelRow),
            }
        )
    profile = orders.profile
    # The reader's own words for the zone name the CLI's --timezone; the page says it its way.
    if upload.timezone:
        zone = ("preview.tz_chosen", {"zone": upload.timezone})
    elif profile is not None and profile.timezone:
        zone = ("preview.tz_profile", {"zone": profile.timezone, "profile": profile.name})
    else:
        zone = ("preview.tz_default", {})
    return from_fields(  # the counts and the header row as the reader gives them
        _Preview,
        orders,
        profile=profile.name if profile is not None else "",
        sheet=orders.sheet or "",
        zone=zone,
        columns=[(f, orders.columns[f]) for f in FIELDS if f in orders.columns],
        rows=rows,
        rejected=rejected,
        rejected_total=rejected_total,
    )


@router.get(UPLOAD_PATH + "/{upload_id}")
async def preview_page(page: PageDep, upload_id: str) -> Response:
    """What the file holds as read; the mapping step when a needed column was not found."""
    upload = await run_in_threadpool(_load, page, upload_id)
    values: dict[str, Any] = {
        "upload": upload,
        "imported": upload.imported,
        "missing": (),
        "headers": (),
        "suggested": {},
        "problem": "",
        "preview": None,
        "window_days": 90,
    }
    try:
        values["preview"] = await run_in_threadpool(_preview, upload)
    except MissingColumns as exc:
        values.update(
            missing=exc.missing, headers=exc.headers, suggested=exc.suggested, problem=str(exc)
        )
    except InputError as exc:  # the reader's own English words, under the page's label
        values["problem"] = str(exc)
    return render(page, "preview.html", **values)


@router.post(UPLOAD_PATH + "/{upload_id}/map")
async def map_columns(page: Posted, upload_id: str) -> Response:
    """Keep the columns chosen for the missing fields (`--map field="Header"`)."""
    upload = await run_in_threadpool(_load, page, upload_id)
    form = await page.request.form()
    for name, value in form.multi_items():
        if not name.startswith("map_") or not isinstance(value, str):
            continue
        field_name = name.removeprefix("map_")
        if field_name in FIELDS and value.strip():
            upload.columns[field_name] = value.strip()[:300]
    upload.imported = None
    await run_in_threadpool(upload.save)
    return redirect(f"{UPLOAD_PATH}/{upload_id}")


@router.post(UPLOAD_PATH + "/{upload_id}/import")
async def import_upload(page: Posted, upload_id: str) -> Response:
    """Store the file's usable orders with the API's import, then show what was stored."""
    upload = await run_in_threadpool(_load, page, upload_id)
    context = page.context

    def run() -> dict[str, Any]:
        check_order_quota(
            context.engine, tenant=page.tenant, quota=context.settings.order_quota_per_tenant
        )
        with one_import_at_a_time(page.tenant):
            result = import_orders(
                context.engine,
                tenant=page.tenant,
                data=upload.data,
                source=f"console:{upload.name}",
                carriers=context.carriers,
                timezone=upload.timezone,
                columns=upload.columns or None,
                listed=0,
            )
        return result.model_dump(mode="json")

    try:
        upload.imported = await run_in_threadpool(run)
    except (InputError, ApiProblem) as exc:
        status = 422 if isinstance(exc, InputError) else exc.status
        raise ConsoleError(status, page.t("error.refused", detail=str(exc))) from None
    await run_in_threadpool(upload.save)
    return redirect(f"{UPLOAD_PATH}/{upload_id}")
