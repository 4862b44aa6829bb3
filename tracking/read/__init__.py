"""Read models: the portfolio summary and per-order evidence views, rendered by the terminal,
the API and the bundle.
"""
