"""Fetching: the pull and refresh pipeline (shipments grouped by carrier, batches fetched
concurrently under each carrier's rate limit, raw exchanges stored, events parsed and written
through `tracking.store`, verdicts recomputed by `tracking.judge`), poll scheduling, per-tenant
carrier accounts and carrier pushes. How a carrier is asked belongs in `carriers/`, not here.
"""
