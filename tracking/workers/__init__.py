"""Distributed workers on Procrastinate: pull, refresh and export jobs (design §12).

Map:

* `tasks` - the jobs as one Procrastinate `Blueprint` (`worker_blueprint`): thin shells over
  the use cases the CLI and the API call (`tracking.fetch.pipeline.pull`/`poll`,
  `tracking.evidence.export.export_bundle`), plus the refresh planner's atomic claim-and-queue.
* `blueprint` - the worker process: the App that carries the Blueprint (`make_app`),
  `run_worker`, `defer` (queue a job from outside).
* `runtime` - what one worker's jobs share (`WorkerConfig`, `Runtime` in the job context),
  and `defer_on` (insert a job in the caller's transaction).

Claims and runs are SQL, so they live in `tracking.store.polls` and `tracking.store.runs`.
"""
