"""The `track-evidence` command line: one module per command group over a small common one.

```
app.py          the application: global options (--db, --config, --debug, --version), main()
conventions.py  global options before or after the command, plain help, one-line usage errors
common.py       errors as one line, settings, --as-of/--policy parsing, the database (never
                created by a command that only reads), tables or tab-separated lines, progress
pull.py         pull, refresh          (tracking.fetch: the pull and refresh use cases)
status.py       status                 (tracking.store.listing)
report.py       report                 (tracking.read.report)
export.py       export, verify         (tracking.evidence)
carriers.py     carriers, detect, parse
formats.py      formats                (tracking.ingest.profiles)
serve.py        serve, sandbox         (tracking.api, tracking.sandbox)
workers.py      worker                 (tracking.workers)
keys.py         keys signing|create|list|revoke
groups.py       groups set|remove|list (tracking.store.isolation)
```

A command parses its options, calls one use-case function (the same one the API and the
workers call) and prints the result; nothing outside this package imports it. A new command
is a function in the module of its group, named in `app.COMMANDS` (added there with
`cls=conventions.Command`).
"""
