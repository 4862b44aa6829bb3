"""Hostile input, measured: `verify` on a zip bomb (peak RSS and time of the real command).

Two zips: the one of issue 15, 522 KB whose `SHA256SUMS` inflates to 512 MiB of newlines, and
one whose `manifest.json` (digest right) is millions of tiny strings just under verify's cap.
Bar (issue 15): verify of any zip stays below 200 MB RSS and 10 s.
(The server side, RSS while refusing a 1 GB unauthenticated body, is measured by
tests/test_attack_server.py against a real Uvicorn process.)

    python bench/attack.py
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_VERIFY = """
import sys
from tracking.cli.app import app
try:
    app(["verify", sys.argv[1]])
except SystemExit as stop:
    code = stop.code
# VmHWM, not ru_maxrss: ru_maxrss keeps the parent's size across fork and exec.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(int(hwm.split()[1]) // 1024, file=sys.stderr)
sys.exit(code)
"""


def _sums_bomb(path: Path) -> None:
    """The issue's zip: `SHA256SUMS` of 512 MiB of newlines."""
    with zipfile.ZipFile(path, "w", compresslevel=9) as archive:
        info = zipfile.ZipInfo("SHA256SUMS")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as sink:
            block = b"\n" * (1 << 20)
            for _ in range(512):
                sink.write(block)
        archive.writestr("manifest.json", "{}")


def _manifest_bomb(path: Path) -> None:
    """A manifest just under the cap, of millions of tiny strings, with a matching digest."""
    from tracking.evidence.manifest import sums_text
    from tracking.evidence.verify import MAX_METADATA_BYTES

    unit = b'"abcdefgh",'
    body = unit * ((MAX_METADATA_BYTES - 200) // len(unit))
    manifest = b'{"schema_version":"1","created_at":"2026-11-20T00:00:00Z","x":[' + body + b"1]}"
    sums = sums_text([("manifest.json", hashlib.sha256(manifest).hexdigest())])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("SHA256SUMS", sums)
        archive.writestr("manifest.json", manifest)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, make in (("SHA256SUMS bomb", _sums_bomb), ("manifest bomb", _manifest_bomb)):
            bomb = Path(folder) / "bundle.zip"
            make(bomb)
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _VERIFY, str(bomb)], capture_output=True, text=True
            )
            seconds = time.perf_counter() - started
            *lines, peak = done.stderr.strip().splitlines()
            print(f"{name}: zip of {bomb.stat().st_size / 1000:.0f} KB, exit {done.returncode}")
            print(f"  reason: {' '.join(lines)}")
            print(f"  verify: {seconds:.2f} s, peak RSS {peak} MB (bar: < 10 s, < 200 MB)")


if __name__ == "__main__":
    main()
