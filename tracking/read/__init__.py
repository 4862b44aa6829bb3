"""Read models: the portfolio summary and per-order evidence views, assembled once and rendered
by the terminal, the API, the bundle's PDFs and the console. A figure people see is computed
here, not in the place that shows it.
"""
