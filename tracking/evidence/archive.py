"""The bundle as a zip file: sorted entries, fixed timestamps and attributes, reproducible.

`verify_bundle` rebuilds the archive from its own content with `write_zip` and compares the
bytes, so a change to zip metadata that leaves every file intact (a timestamp in a local
header, an extra field) is still reported.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import IO

from tracking.core.domain import as_utc

__all__ = ["write_zip"]

_STORED = frozenset({"pdf", "png", "jpg"})  # already compressed


def write_zip(
    target: IO[bytes],
    entries: Iterable[tuple[str, Callable[[], IO[bytes]]]],
    *,
    created_at: datetime,
) -> None:
    """Write (path, opener) `entries`, sorted by path, to the seekable stream `target`."""
    moment = as_utc(created_at)
    stamp = (
        min(max(moment.year, 1980), 2107),
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for path, opener in sorted(entries, key=lambda entry: entry[0]):
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            stored = path.rsplit(".", 1)[-1].lower() in _STORED
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            with opener() as source, archive.open(info, "w", force_zip64=False) as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
