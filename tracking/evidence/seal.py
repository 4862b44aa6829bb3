"""Sealing a staged bundle: `SHA256SUMS`, the optional signature, then the folder or the zip.

`tracking.evidence.bundle` stages every file in a temporary folder; `seal` adds the checksums
and the signature over the exact bytes of `manifest.json`, and moves the result into place
(renamed as a folder, or written as a zip whose timestamps are the bundle's creation time).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tracking.evidence import manifest as mf
from tracking.evidence.archive import write_zip
from tracking.evidence.signing import sign_manifest
from tracking.read.views import BundleInfo

__all__ = ["BundleResult", "Written", "seal"]


@dataclass(frozen=True, slots=True)
class BundleResult:
    """What `write_bundle` wrote: the bundle path, its file count and size, the manifest digest."""

    path: Path
    files: int
    orders: int
    bytes: int
    manifest_sha256: str
    signed: bool

    def as_json(self) -> dict[str, str | int | bool]:
        """The result as the CLI's `export --json` and the worker's export task report it."""
        return {
            "path": str(self.path),
            "orders": self.orders,
            "files": self.files,
            "bytes": self.bytes,
            "manifest_sha256": self.manifest_sha256,
            "signed": self.signed,
        }


@dataclass(slots=True)
class Written:
    """One staged file: its bundle-relative path, sha256 and size."""

    path: str
    sha256: str
    size: int


def seal(
    stage: Path,
    temp: Path,
    out: Path,
    *,
    info: BundleInfo,
    written: list[Written],
    rows: int,
    as_zip: bool,
    signing_key: Ed25519PrivateKey | None,
    manifest_path: Path,
) -> BundleResult:
    """Write SHA256SUMS (and manifest.sig with a key) next to the staged bundle in `stage`,
    then move it to `out`: the folder itself, or a deterministic zip of it."""
    manifest_bytes = manifest_path.read_bytes()
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    sums = mf.sums_text([(w.path, w.sha256) for w in written] + [(mf.MANIFEST_NAME, manifest_sha)])
    (stage / mf.SUMS_NAME).write_bytes(sums.encode("utf-8"))
    all_paths = [w.path for w in written] + [mf.MANIFEST_NAME, mf.SUMS_NAME]
    if signing_key is not None:
        (stage / mf.SIGNATURE_NAME).write_bytes(sign_manifest(manifest_bytes, signing_key))
        all_paths.append(mf.SIGNATURE_NAME)
    total = sum((stage / path).stat().st_size for path in all_paths)

    if as_zip:
        archive = temp / "bundle.zip"
        with archive.open("wb") as sink:
            write_zip(
                sink,
                [(path, _opener(stage / path)) for path in all_paths],
                created_at=info.created_at,
            )
        total = archive.stat().st_size
        if out.is_dir():
            out.rmdir()
        os.replace(archive, out)
    else:
        if out.is_dir():
            out.rmdir()
        os.replace(stage, out)
    return BundleResult(
        path=out,
        files=len(all_paths),
        orders=rows,
        bytes=total,
        manifest_sha256=manifest_sha,
        signed=signing_key is not None,
    )


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")
