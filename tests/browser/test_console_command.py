"""`track-evidence console`: the command a seller runs once; its link signs the browser in."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import WAIT_MS, Shots

LINK = re.compile(r"^http://127\.0\.0\.1:\d+/sign-in/link\?token=[A-Za-z0-9_\-]+$")


@pytest.fixture
def console_command(tmp_path: Path) -> Iterator[str]:
    """`track-evidence console --tenant shop-a --sandbox --no-browser --port 0` in a child
    process; the one-time link it prints on stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACK_EVIDENCE_")}
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tracking.cli.app import main; main()",
            "--db",
            f"sqlite:///{tmp_path / 'console.db'}",
            "console",
            "--tenant",
            "shop-a",
            "--sandbox",
            "--no-browser",
            "--port",
            "0",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert child.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in child.stdout or ()])
    reader.start()
    try:
        try:
            link = lines.get(timeout=2 * WAIT_MS / 1000).strip()
        except queue.Empty:
            child.kill()
            raise AssertionError(f"no link printed; stderr: {child.communicate()[1]}") from None
        assert LINK.match(link), link
        yield link
    finally:
        child.terminate()
        child.wait(timeout=WAIT_MS / 1000)
        reader.join()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def test_the_printed_link_signs_in_once(console_command: str, page: Page, shots: Shots) -> None:
    page.goto(console_command)
    # signed in as the store, on the upload page, and the token is gone from the address
    expect(page).to_have_url(re.compile(r"/upload$"))
    expect(page.get_by_test_id("tenant")).to_contain_text("shop-a")
    expect(page.get_by_test_id("orders-file")).to_be_attached()
    shots(page, "opened-by-link")
    # the same link a second time (another browser, or after a copy) opens nothing
    page.context.clear_cookies()
    answer = page.goto(console_command)
    assert answer is not None
    assert answer.status == 401
    expect(page.get_by_test_id("sign-in-error")).to_be_visible()
    expect(page.get_by_test_id("tenant")).to_have_count(0)
    shots(page, "link-used")
