"""Pulls and bundles from the console: the API's jobs, with live progress by htmx polling.

Both are queued with `tracking.api.jobs.create_job` exactly as `POST /v1/pulls` and
`POST /v1/bundles` queue them (same parameters model, same per-tenant job quota, same runner
or Procrastinate queue); a page then polls a small progress fragment every second until the
job ends. A finished bundle is checked with `verify_bundle` and offered for download.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import FileResponse, Response

from tracking.api.crud import portfolio_summary
from tracking.api.jobs import bundle_dir
from tracking.api.models import BundleCreate, PullCreate
from tracking.api.problems import ApiProblem
from tracking.api.quotas import check_job_quota
from tracking.console.account import carrier_readiness
from tracking.console.web import ConsoleError, Page, PageDep, Posted, redirect, render
from tracking.evidence.verify import verify_bundle
from tracking.judge.findings import spec
from tracking.store.jobs import Job, create_job, get_job, recent_jobs

__all__ = ["router"]

router = APIRouter()

WINDOWS = (30, 60, 90, 180, 365)
_FINISHED = ("succeeded", "partial", "failed")


def _window_days(value: object, default: int = 90) -> int:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 1 <= int(text) <= 3660 else default


def _queue(page: Page, kind: str, params: dict[str, Any]) -> Job:
    context = page.context

    def run() -> Job:
        check_job_quota(
            context.engine, tenant=page.tenant, quota=context.settings.job_quota_per_tenant
        )
        return create_job(
            context.engine,
            tenant=page.tenant,
            kind=kind,
            params=params,
            on_insert=context.defer_job,
        )

    try:
        job = run()
    except ApiProblem as exc:
        raise ConsoleError(exc.status, page.t("job.quota")) from None
    context.jobs_changed()
    return job


def _job(page: Page, kind: str, job_id: str) -> Job:
    job = (
        get_job(page.context.engine, tenant=page.tenant, kind=kind, job_id=job_id)
        if 0 < len(job_id) <= 64
        else None
    )
    if job is None:
        raise ConsoleError(404, page.t("job.not_found"))
    return job


# -- pulls -----------------------------------------------------------------------------------


@router.get("/pull")
async def pull_page(page: PageDep) -> Response:
    """Which carriers can be reached, and the button that starts a pull."""
    ready = await run_in_threadpool(carrier_readiness, page.context)
    jobs = await run_in_threadpool(
        lambda: recent_jobs(page.context.engine, tenant=page.tenant, kind="pull")
    )
    return render(
        page,
        "pull.html",
        carriers=ready,
        jobs=jobs,
        windows=WINDOWS,
        sandbox=page.context.network is not None,
    )


@router.post("/pull")
async def start_pull(page: Posted) -> Response:
    """Queue a pull of the tenant's stored orders (as `POST /v1/pulls`)."""
    form = await page.request.form()
    params = PullCreate(window_days=_window_days(form.get("window_days")))
    job = await run_in_threadpool(
        _queue, page, "pull", params.model_dump(mode="json", exclude_none=True)
    )
    return redirect(f"/pull/{job.id}")


def _carrier_rows(job: Job, now: datetime) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, int]] = dict(job.progress.get("carriers") or {})
    elapsed = (now - job.started_at).total_seconds() if job.started_at else 0.0
    if job.finished_at and job.started_at:
        elapsed = (job.finished_at - job.started_at).total_seconds()
    rows = []
    for code, c in sorted(counts.items()):
        done, total = int(c.get("done", 0)), int(c.get("total", 0))
        rate = done / elapsed if elapsed > 0 and done else 0.0
        left = (total - done) / rate if rate > 0 and total > done else None
        rows.append(
            {
                "code": code,
                "done": done,
                "total": total,
                "percent": round(100 * done / total) if total else 100,
                "rate": f"{rate:.1f}",
                "left": int(left) if left is not None else None,
            }
        )
    return rows


def _explanations(page: Page, job: Job, ready: list[dict[str, Any]]) -> list[str]:
    """Plain words for each carrier that could not be reached (or not fully)."""
    result = job.result or {}
    by_carrier: dict[str, dict[str, int]] = result.get("by_carrier") or {}
    notices: dict[str, str] = result.get("notices") or {}
    info = {r["code"]: r for r in ready}
    lines = []
    for code, counts in sorted(by_carrier.items()):
        failed = int(counts.get("failed", 0))
        name = info.get(code, {}).get("name", code)
        if code in notices:
            lines.append(page.t("pull.blocked", carrier=name, notice=notices[code]))
        elif failed and info.get(code, {}).get("missing") and page.context.network is None:
            lines.append(
                page.t("pull.no_credentials", carrier=name, n=failed, fields=info[code]["missing"])
            )
        elif failed:
            lines.append(page.t("pull.failed_some", carrier=name, n=failed))
    return lines


def _progress_values(page: Page, job: Job, kind: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    values: dict[str, Any] = {"job": job, "finished": job.status in _FINISHED, "kind": kind}
    if kind == "pull":
        values["rows"] = _carrier_rows(job, now)
        ready = carrier_readiness(page.context) if job.result else []
        values["explanations"] = _explanations(page, job, ready)
        values["result"] = job.result or {}
    else:
        done = int(job.progress.get("orders_done", 0))
        total = int(job.progress.get("orders_total", 0))
        values.update(done=done, total=total, percent=round(100 * done / total) if total else 0)
        values["verified"] = _verify(page, job) if job.status == "succeeded" else None
        values["result"] = job.result or {}
    return values


def _job_view(kind: str, template: str) -> Callable[[Page, str], Awaitable[Response]]:
    """The route that shows one `kind` job in `template`: `job.html`, the page (its progress,
    live until it ends, then its result), or `progress.html`, the fragment htmx polls."""

    async def view(page: PageDep, job_id: str) -> Response:
        job = await run_in_threadpool(_job, page, kind, job_id)
        values = await run_in_threadpool(_progress_values, page, job, kind)
        return render(page, template, **values)

    return view


# One pull: its progress, live until it ends, then its report.
pull_job_page = router.get("/pull/{job_id}", name="pull_job_page")(_job_view("pull", "job.html"))
pull_progress = router.get("/pull/{job_id}/progress", name="pull_progress")(
    _job_view("pull", "progress.html")
)


# -- bundles ---------------------------------------------------------------------------------


def _ids(text: object) -> list[str]:
    found = [line.strip() for line in str(text or "").replace(",", "\n").splitlines()]
    return list(dict.fromkeys(i for i in found if i))


@router.get("/bundle")
async def bundle_page(page: PageDep) -> Response:
    """Portfolio figures of the window, and the form that builds a bundle."""
    days = _window_days(page.request.query_params.get("window"))
    return await _bundle_form(page, days=days, values={}, problems=[])


async def _bundle_form(
    page: Page, *, days: int, values: dict[str, Any], problems: list[str], status: int = 200
) -> Response:
    end = datetime.now(UTC)
    jobs = await run_in_threadpool(
        lambda: recent_jobs(page.context.engine, tenant=page.tenant, kind="bundle")
    )
    summary = await run_in_threadpool(
        lambda: portfolio_summary(
            page.context.engine, tenant=page.tenant, window=(end - timedelta(days=days), end)
        )
    )
    findings = [
        {
            "code": f.code,
            "severity": f.severity,
            "orders": f.orders,
            "title": spec(f.code).title_zh if page.lang == "zh" else spec(f.code).title,
        }
        for f in summary.findings[:12]
    ]
    return render(
        page,
        "bundle.html",
        jobs=jobs,
        summary=summary,
        findings=findings,
        days=days,
        windows=WINDOWS,
        values=values,
        problems=problems,
        status=status,
    )


@router.post("/bundle")
async def start_bundle(page: Posted) -> Response:
    """Queue a bundle (as `POST /v1/bundles`), always as one zip file."""
    form = await page.request.form()
    verdicts = [v for v in form.getlist("verdicts") if v in ("pass", "pending", "fail")]
    days = _window_days(form.get("window_days"))
    values: dict[str, Any] = {
        "reference_id": str(form.get("reference_id") or "").strip(),
        "seller": str(form.get("seller") or "").strip() or None,
        "window_days": days,
        "verdicts": verdicts or ["pass"],
        "include": _ids(form.get("include")) or None,
        "exclude": _ids(form.get("exclude")) or None,
        "format": "zip",
    }
    try:
        params = BundleCreate.model_validate(values)
    except ValidationError as exc:
        problems = [
            page.t(
                "bundle.field_problem",
                detail=f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}",
            )
            for e in exc.errors(include_url=False)
        ]
        return await _bundle_form(page, days=days, values=values, problems=problems, status=422)
    both = sorted(set(params.include or ()) & set(params.exclude or ()))
    if both:
        return await _bundle_form(
            page,
            days=params.window_days,
            values=values,
            problems=[page.t("bundle.both", order=both[0])],
            status=422,
        )
    job = await run_in_threadpool(
        _queue, page, "bundle", params.model_dump(mode="json", exclude_none=True)
    )
    return redirect(f"/bundle/{job.id}")


def _zip_of(page: Page, job: Job) -> Path:
    root = bundle_dir(page.context.options.data_dir, job.id).resolve()
    listed = {f["path"] for f in (job.result or {}).get("files", ())}
    target = (root / "bundle.zip").resolve()
    if "bundle.zip" not in listed or not target.is_file() or not target.is_relative_to(root):
        raise ConsoleError(404, page.t("job.not_found"))
    return target


def _verify(page: Page, job: Job) -> dict[str, Any]:
    found = verify_bundle(_zip_of(page, job))
    return {"ok": found.ok, "checked": found.checked, "problem": found.problem}


# One bundle: its build progress, then the download and the verify result.
bundle_job_page = router.get("/bundle/{job_id}", name="bundle_job_page")(
    _job_view("bundle", "job.html")
)
bundle_progress = router.get("/bundle/{job_id}/progress", name="bundle_progress")(
    _job_view("bundle", "progress.html")
)


@router.get("/bundle/{job_id}/download")
async def bundle_download(page: PageDep, job_id: str) -> Response:
    """The bundle's zip file."""
    job = await run_in_threadpool(_job, page, "bundle", job_id)
    if job.status != "succeeded":
        raise ConsoleError(409, page.t("bundle.not_ready"))
    target = await run_in_threadpool(_zip_of, page, job)
    digest = next(f["sha256"] for f in (job.result or {})["files"] if f["path"] == "bundle.zip")
    reference = "".join(c for c in str(job.params.get("reference_id", "")) if c.isalnum())[:40]
    return FileResponse(
        target,
        media_type="application/zip",
        filename=f"evidence-{reference or job.id[:8]}.zip",
        headers={"X-Content-SHA256": digest, "Cache-Control": "private, no-store"},
    )
