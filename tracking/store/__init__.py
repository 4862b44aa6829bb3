"""Storage, the only package that speaks SQL: tables, the engine, migrations and the
persistence functions the rest of the code calls.

```
tracking.store
├── columns.py        UTCDateTime: how an instant is stored, on both databases
├── tables.py         every table (SQLModel) and its typed handle: ORDERS, SHIPMENTS, JOBS ...
├── handles.py        table_of(Model) -> sqlalchemy.Table, typed (no untyped `__table__`)
├── engine.py         open_engine (SQLite or PostgreSQL), transaction
├── migrate.py        migrate(engine): the Alembic revisions of migrations/
├── migrations/       the revisions (they import tracking.store.tables)
├── writes.py         the one write path: insert_ignore, upsert, insert_returning, update_rows
├── scopes.py         what order queries share: dated_in(window), the orders with verdicts
├── shipments.py      ensure_shipments; due_shipments, claim_due_shipments (DueShipment)
├── orders.py         upsert_orders; iter_order_ids, load_orders_data, bundles_for
├── parcels.py        split orders: store_parcels, parcel_orders, judge_parcels
├── exchanges.py      raw exchanges: store_exchange(s), raw_body, compress_body
├── answers.py        store_answers / store_results: a carrier's answers in one transaction
├── verdicts.py       recompute_verdicts: judge stored orders, store verdicts and history
├── statistics.py     SQLite's ANALYZE after migrations and large writes (planner statistics)
├── isolation.py      tenant isolation (the decision) and account groups
├── tenant_orders.py  one tenant's orders as the API reads them: pages, one order, counts
├── jobs.py           API jobs (api_jobs): create, claim fairly, heartbeat, finish
├── api_keys.py       API key rows (prefix and digest; never the key)
├── webhooks.py       webhooks, deliveries, the delivery log; leasing due deliveries
├── webhook_events.py events queued as deliveries; the verdict-history cursor
└── task_queue.py     rows the Procrastinate planners read (orphan jobs, deliveries to queue)
```

Writes go through `writes.py` on both databases alike: SQLAlchemy Core statements on the
typed handles, values converted by the column types, so a type change is made once.
"""
