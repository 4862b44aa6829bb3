"""Orders: import (CSV or JSON, per-row reasons), list with filters, one order's evidence."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import Field, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException

from tracking.api.crud import order_evidence, order_summary
from tracking.api.deps import CallerDep
from tracking.api.models import (
    EvidencePublic,
    ImportResult,
    OrderIn,
    OrderPage,
    VerdictStatus,
)
from tracking.api.orders_import import import_orders, no_orders, orders_csv
from tracking.api.problems import ApiProblem
from tracking.api.quotas import import_slot
from tracking.api.routes import AsOf, answers, invalid_cursor, problem_responses, window_before
from tracking.api.webhooks import decode_cursor, encode_cursor
from tracking.core.exceptions import InputError
from tracking.ingest.describe import parse_maps
from tracking.store.tenant_orders import order_page

__all__ = ["MAX_JSON_ORDERS", "router"]

router = APIRouter(tags=["orders"])

MAX_JSON_ORDERS = 100_000
_ROW_ID = re.compile(r"[0-9]{1,18}")
_JSON_ORDERS: TypeAdapter[list[OrderIn]] = TypeAdapter(
    Annotated[list[OrderIn], Field(max_length=MAX_JSON_ORDERS)]
)
_WORKBOOK_TYPES = {  # a workbook sent as the body, by its media type
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": "xlsm",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12": "xlsb",
    "application/vnd.ms-excel": "xls",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
}
_CSV_TYPES = {
    "text/csv",
    "application/csv",
    "text/plain",
    "text/tab-separated-values",
    "application/octet-stream",
    "application/vnd.ms-excel",
}
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "The orders export as a CSV file (`text/csv`, or a `file` field of a multipart "
            "form), read exactly like `track-evidence pull`; or a JSON list of orders."
        ),
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": MAX_JSON_ORDERS,
                    "items": {"$ref": "#/components/schemas/OrderIn"},
                }
            },
        },
    }
}


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, f"the upload is larger than {limit} bytes", kind="too-large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiProblem(413, f"the upload is larger than {limit} bytes", kind="too-large")
        chunks.append(chunk)
    return b"".join(chunks)


async def _form_file(request: Request, body: bytes) -> tuple[bytes, str, list[tuple[str, str]]]:
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=16)
    except HTTPException as exc:  # Starlette's answer to a malformed multipart body
        raise ApiProblem(
            422, f"the multipart form cannot be read: {exc.detail}", kind="invalid-request"
        ) from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ApiProblem(
            422, "the multipart form needs a `file` field with the CSV", kind="invalid-request"
        )
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    try:
        data = await upload.read()
        name = upload.filename or "upload.csv"
    finally:
        await form.close()
    return data, name, fields


@router.post(
    "/orders",
    response_model=ImportResult,
    summary="Import orders (CSV or JSON)",
    responses=problem_responses(401, 413, 415, 422, 429),
    openapi_extra=_IMPORT_BODY,
    dependencies=[Depends(import_slot)],
)
async def import_orders_route(
    request: Request,
    caller: CallerDep,
    timezone: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Time zone of times written without one (IANA name such as"
            " Europe/London, or +03:00); default: the recognized export's, else China time."
            " Also accepted as a multipart form field.",
        ),
    ] = None,
    column_map: Annotated[
        list[str] | None,
        Query(
            alias="map",
            max_length=300,
            description="Read a field from this column, as the command line's --map:"
            ' order_date="Created Time" (repeatable; also a multipart form field).',
        ),
    ] = None,
) -> ImportResult:
    """Store the usable orders of a CSV or workbook export or a JSON list, by the command
    line's rules (the same header recognition, item-row grouping, `map` and `timezone`).

    Every unusable row comes back with its row number (and, for JSON, its index), column,
    value and reason; good rows are stored. Importing the same orders again updates them.
    """
    context = caller.context
    maps = list(column_map or [])
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await _read_body(request, context.options.max_upload_bytes)
    from_json = False
    if media == "application/json" or media.endswith("+json"):
        try:
            items = _JSON_ORDERS.validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(
                [
                    {**e, "loc": ("body", *e["loc"])}
                    for e in exc.errors(include_url=False, include_input=False)
                ]
            ) from None
        if not items:
            return no_orders()
        data, source, from_json = orders_csv(items), "api:orders.json", True
    elif media == "multipart/form-data":
        data, name, fields = await _form_file(request, body)
        source = f"api:{name}"
        timezone = timezone or next((v for k, v in fields if k == "timezone"), None)
        maps += [v for k, v in fields if k == "map"]
    elif media in _CSV_TYPES:
        data, source = body, "api:orders.csv"
    elif media in _WORKBOOK_TYPES:
        data, source = body, f"api:orders.{_WORKBOOK_TYPES[media]}"
    else:
        raise ApiProblem(
            415,
            "send the orders as text/csv, multipart/form-data (field `file`) or application/json",
            kind="unsupported-media-type",
        )
    if not data.strip():
        raise ApiProblem(422, "the upload is empty", kind="unusable-orders-file")
    try:
        return await run_in_threadpool(
            lambda: import_orders(
                context.engine,
                tenant=caller.tenant,
                data=data,
                source=source[:200],
                carriers=context.carriers,
                from_json=from_json,
                timezone=timezone,
                columns=parse_maps(maps),
            )
        )
    except InputError as exc:
        raise ApiProblem(422, str(exc), kind="unusable-orders-file") from None


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    parts = decode_cursor(cursor, 2)
    # At most 18 ASCII digits: a bigger number overflows the database's 64-bit integer.
    if parts is None or parts[0] != "o" or not _ROW_ID.fullmatch(parts[1]):
        raise invalid_cursor()
    return int(parts[1])


@router.get("/orders", **answers(OrderPage, "List orders and their verdicts", 401, 422))
def list_orders_route(
    caller: CallerDep,
    verdict: Annotated[VerdictStatus | None, Query(description="Only this verdict.")] = None,
    carrier: Annotated[
        str | None, Query(max_length=32, description="Only this carrier code.")
    ] = None,
    window_days: Annotated[
        int | None,
        Query(ge=1, le=3660, description="Only orders dated in the N days before `as_of`."),
    ] = None,
    as_of: AsOf = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OrderPage:
    """The tenant's orders, oldest import first, with their current verdicts."""
    rows, more = order_page(
        caller.engine,
        tenant=caller.tenant,
        after=_after(cursor),
        limit=limit,
        verdict=verdict,
        carrier=carrier,
        window=window_before(as_of, window_days) if window_days is not None else None,
    )
    return OrderPage(
        items=[order_summary(r) for r in rows],
        next_cursor=encode_cursor("o", str(rows[-1].id)) if more and rows else None,
    )


@router.get(
    "/orders/{order_id:path}/evidence",
    **answers(EvidencePublic, "One order's evidence", 401, 404, 422),
)
def evidence_route(
    caller: CallerDep, order_id: Annotated[str, Path(min_length=1, max_length=512)]
) -> EvidencePublic:
    """Verdict, milestones (explicit or inferred), findings, events, legs, raw-log digests."""
    found = order_evidence(
        caller.engine, tenant=caller.tenant, order_id=order_id, carriers=caller.context.carriers
    )
    if found is None:
        raise ApiProblem(404, f"no order {order_id!r}", kind="not-found")
    return found
