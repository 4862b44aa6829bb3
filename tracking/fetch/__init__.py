"""Fetching: the pull and refresh pipeline, carrier rate limits, poll scheduling, per-tenant
carrier accounts and carrier pushes.
"""
