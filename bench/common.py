"""Shared helpers for the benchmarks: orders files from the world, a sandbox process."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx

from carriers.registry import all_carriers
from tracking.sandbox.world import World

AS_OF = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)
CHINA = timezone(timedelta(hours=8))


def write_orders(
    path: Path, count: int, carriers: Sequence[str], *, seed: int = 1
) -> dict[str, int]:
    """`count` orders spread evenly over `carriers`; returns numbers per carrier."""
    world = World(now=AS_OF)
    registry = all_carriers()
    per: dict[str, int] = dict.fromkeys(carriers, 0)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "order_date", "carrier", "tracking_number", "country"])
        for i in range(count):
            code = carriers[i % len(carriers)]
            make = registry[code].make_number
            assert make is not None
            number = make(seed * 10_000_000 + i)
            per[code] += 1
            writer.writerow(
                [
                    f"B{seed}-{i:07d}",
                    world.order_date(number).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                    registry[code].name,
                    number,
                    world.destination(number),
                ]
            )
    return per


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox_process(*args: str, cpus: set[int] | None = None) -> Iterator[str]:
    """A `track-evidence sandbox` in its own process (it plays the carriers).

    `cpus` pins it to those cores (Linux), e.g. away from a client pinned to another one.
    """
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracking",
            "sandbox",
            "--port",
            str(port),
            "--as-of",
            "2026-11-20",
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if cpus is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(process.pid, cpus)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/", timeout=1.0)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("sandbox did not start") from None
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=10)


def stats(url: str) -> dict[str, dict[str, int]]:
    return dict(httpx.get(url + "/", timeout=5.0).json()["stats"])
