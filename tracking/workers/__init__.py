"""Distributed workers on Procrastinate: pull, refresh and export jobs as a `Blueprint` whose
tasks call the same use-case functions as the command line and the API (an entry point: no
other package imports it).
"""
