"""Distributed workers on Procrastinate: pull, refresh and export jobs."""
