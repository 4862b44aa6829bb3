"""Read models shared by the CLI, the API, the PDFs and the console.

    views       frozen per-order views (OrderEvidence, FindingView, ...) the renderers take
    assemble    OrderEvidence from storage, for the bundle, the CLI and the API
    portfolio   the one portfolio summary (Portfolio, summarize, read_portfolio) and its API
                rendering; the report renders it for a terminal, the precheck as a PDF
    report      the portfolio report for a terminal or plain lines (`track-evidence report`)
    rejudge     judging a window again: in memory for the report, or stored (`--policy`)
    history     the finding history of orders (first seen, resolved)

Read models only read (through `tracking.store`) and judge (through `tracking.judge`); the
renderers take the frozen values and never query the database.
"""
