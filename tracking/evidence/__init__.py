"""The evidence bundle: upload-ready PDFs and PNGs, raw carrier logs, manifest, checksums.

`write_bundle` renders a bundle from `tracking.read.views.OrderEvidence` values (it never touches
the database); `verify_bundle` checks one; the key helpers create and load the Ed25519 keys
that sign a bundle's manifest. See `tracking.evidence.bundle` for the layout. The CLI, the API
and the workers export through the one use case in `tracking.evidence.export`. PDFs are drawn as
display lists (`layout`) and written with pikepdf (`writer`) in one embedded font (`fonts`).
"""

from __future__ import annotations

from tracking.evidence.bundle import BundleResult, write_bundle
from tracking.evidence.manifest import MANIFEST_VERSION
from tracking.evidence.signing import generate_signing_key, load_public_key, load_signing_key
from tracking.evidence.verify import VerifyResult, verify_bundle

__all__ = [
    "MANIFEST_VERSION",
    "BundleResult",
    "VerifyResult",
    "generate_signing_key",
    "load_public_key",
    "load_signing_key",
    "verify_bundle",
    "write_bundle",
]
