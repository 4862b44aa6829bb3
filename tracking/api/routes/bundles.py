"""Evidence bundles: build one (a job), follow it, download its files."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Response
from fastapi.responses import FileResponse

from tracking.api.deps import CallerDep
from tracking.api.jobs import bundle_dir
from tracking.api.models import BundleCreate, BundleFile, BundlePublic, public
from tracking.api.problems import ApiProblem
from tracking.api.routes import ResourceId, answers, problem_responses
from tracking.api.routes.jobs import queue_job, queues_a_job, tenant_job
from tracking.store.jobs import Job

__all__ = ["bundle_public", "router"]

router = APIRouter(tags=["bundles"])


def bundle_public(job: Job) -> BundlePublic:
    """A bundle job as the API shows it."""
    result = job.result or {}
    files = [
        BundleFile(
            path=f["path"],
            size=f["size"],
            sha256=f["sha256"],
            media_type=f["media_type"],
            href=f"/v1/bundles/{job.id}/files/{quote(f['path'])}",
        )
        for f in result.get("files", ())
    ]
    return public(
        BundlePublic,
        job,
        reference_id=str(job.params.get("reference_id", "")),
        orders=result.get("orders"),
        orders_skipped=result.get("orders_skipped"),
        manifest_sha256=result.get("manifest_sha256"),
        files=files,
    )


@router.post("/bundles", **queues_a_job(BundlePublic, "Build an evidence bundle"))
async def create_bundle_route(
    body: BundleCreate, caller: CallerDep, response: Response
) -> BundlePublic:
    """Queue a bundle of the tenant's judged orders in the window; returns the job at once.

    A `bundle.ready` webhook event follows when it ends.
    """
    return bundle_public(await queue_job(caller, response, kind="bundle", body=body))


@router.get(
    "/bundles/{bundle_id}", **answers(BundlePublic, "A bundle's state and files", 401, 404, 422)
)
def get_bundle_route(caller: CallerDep, bundle_id: ResourceId) -> BundlePublic:
    """Status, progress and, once ready, every file with its size and sha256."""
    return bundle_public(tenant_job(caller, "bundle", bundle_id))


@router.get(
    "/bundles/{bundle_id}/files/{path:path}",
    response_class=FileResponse,
    summary="Download one file of a bundle",
    responses={
        200: {
            "description": "The file.",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "*/*": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(401, 404, 409, 422),
    },
)
def bundle_file_route(
    caller: CallerDep, bundle_id: ResourceId, path: Annotated[str, Path(max_length=1024)]
) -> FileResponse:
    """One file of a ready bundle, by its path as listed in the bundle (nothing else)."""
    job = tenant_job(caller, "bundle", bundle_id)
    if job.status != "succeeded":
        raise ApiProblem(409, f"bundle {bundle_id!r} is {job.status}, not ready", kind="not-ready")
    result = job.result or {}
    listed = {f["path"]: f for f in result.get("files", ())}
    entry = listed.get(path)
    if entry is None:
        raise ApiProblem(404, f"bundle {bundle_id!r} has no file {path!r}", kind="not-found")
    root = bundle_dir(caller.context.options.data_dir, job.id).resolve()
    base = (root / str(result.get("base", ""))).resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise ApiProblem(404, f"bundle {bundle_id!r} has no file {path!r}", kind="not-found")
    return FileResponse(
        target,
        media_type=entry["media_type"],
        filename=target.name,
        headers={"X-Content-SHA256": entry["sha256"]},
    )
