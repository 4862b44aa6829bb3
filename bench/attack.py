"""Hostile input, measured: `verify` on a zip bomb (peak RSS and time of the real command).

The zip is the one of issue 15: 522 KB whose `SHA256SUMS` inflates to 512 MiB of newlines.
Bar (issue 15): verify of any zip stays below 200 MB RSS and 10 s.
(The server side, RSS while refusing a 1 GB unauthenticated body, is measured by
tests/test_attack_server.py against a real Uvicorn process.)

    python bench/attack.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

_VERIFY = """
import sys
from tracking.cli import app
try:
    app(["verify", sys.argv[1]])
except SystemExit as stop:
    code = stop.code
# VmHWM, not ru_maxrss: ru_maxrss keeps the parent's size across fork and exec.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(int(hwm.split()[1]) // 1024, file=sys.stderr)
sys.exit(code)
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        bomb = Path(folder) / "bundle.zip"
        with zipfile.ZipFile(bomb, "w", compresslevel=9) as archive:
            info = zipfile.ZipInfo("SHA256SUMS")
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as sink:
                block = b"\n" * (1 << 20)
                for _ in range(512):
                    sink.write(block)
            archive.writestr("manifest.json", "{}")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _VERIFY, str(bomb)], capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        *lines, peak = done.stderr.strip().splitlines()
        print(f"zip: {bomb.stat().st_size / 1000:.0f} KB, exit {done.returncode}")
        print(f"reason: {' '.join(lines)}")
        print(f"verify: {seconds:.2f} s, peak RSS {peak} MB (bar: < 10 s, < 200 MB)")


if __name__ == "__main__":
    main()
