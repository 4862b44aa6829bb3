"""Ed25519 keys and the `manifest.sig` file of a signed bundle.

`manifest.sig` is UTF-8 text, LF line endings, exactly these six lines:

    track-evidence manifest signature v1
    algorithm: ed25519
    signed-file: manifest.json
    manifest-sha256: <64 lowercase hex digits: sha256 of manifest.json>
    public-key: <64 lowercase hex digits: the raw 32-byte Ed25519 public key>
    signature: <128 lowercase hex digits: Ed25519 signature over the exact bytes of manifest.json>

A file that differs from this canonical form in any byte (upper-case hex, extra spaces, a
missing final newline) is rejected, so that any single changed byte of a bundle is detected.
The embedded public key lets anyone check integrity; authenticity needs the seller's public
key from elsewhere (`verify_bundle(..., public_key=...)`), which must then equal it.

Keys are PEM files: the private key PKCS#8 (unencrypted, mode 0600), the public key
SubjectPublicKeyInfo in `<private key path>.pub`.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tracking.core.exceptions import InputError

__all__ = [
    "Signature",
    "generate_signing_key",
    "load_public_key",
    "load_signing_key",
    "parse_signature",
    "public_key_hex",
    "sign_manifest",
    "verify_signature",
]

_HEADER = "track-evidence manifest signature v1"
_PATTERN = re.compile(
    r"track-evidence manifest signature v1\n"
    r"algorithm: ed25519\n"
    r"signed-file: manifest\.json\n"
    r"manifest-sha256: (?P<digest>[0-9a-f]{64})\n"
    r"public-key: (?P<key>[0-9a-f]{64})\n"
    r"signature: (?P<signature>[0-9a-f]{128})\n"
)


@dataclass(frozen=True, slots=True)
class Signature:
    """A parsed `manifest.sig`."""

    manifest_sha256: str
    public_key: bytes
    signature: bytes


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_hex(key: Ed25519PublicKey) -> str:
    """The raw public key as 64 lowercase hex digits."""
    return _raw_public(key).hex()


def _render(signature: Signature) -> bytes:
    return (
        f"{_HEADER}\n"
        "algorithm: ed25519\n"
        "signed-file: manifest.json\n"
        f"manifest-sha256: {signature.manifest_sha256}\n"
        f"public-key: {signature.public_key.hex()}\n"
        f"signature: {signature.signature.hex()}\n"
    ).encode("ascii")


def sign_manifest(manifest: bytes, key: Ed25519PrivateKey) -> bytes:
    """The `manifest.sig` bytes for the exact bytes of `manifest.json`."""
    signature = Signature(
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        public_key=_raw_public(key.public_key()),
        signature=key.sign(manifest),
    )
    return _render(signature)


def parse_signature(data: bytes) -> Signature:
    """Parse a canonical `manifest.sig`; `ValueError` for anything else."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError("not ASCII text") from exc
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise ValueError("not a track-evidence v1 signature file")
    signature = Signature(
        manifest_sha256=match["digest"],
        public_key=bytes.fromhex(match["key"]),
        signature=bytes.fromhex(match["signature"]),
    )
    if _render(signature) != data:  # pragma: no cover - the pattern already pins every byte
        raise ValueError("not in canonical form")
    return signature


def verify_signature(
    manifest: bytes, data: bytes, *, public_key: Ed25519PublicKey | None = None
) -> str | None:
    """None when `data` (manifest.sig) is a valid signature of `manifest`, else the problem."""
    try:
        signature = parse_signature(data)
    except ValueError as exc:
        return f"malformed ({exc})"
    if signature.manifest_sha256 != hashlib.sha256(manifest).hexdigest():
        return "manifest-sha256 does not match manifest.json"
    if public_key is not None and _raw_public(public_key) != signature.public_key:
        return "signed with a different key than the one given"
    try:
        embedded = Ed25519PublicKey.from_public_bytes(signature.public_key)
        embedded.verify(signature.signature, manifest)
    except (InvalidSignature, ValueError):
        return "bad signature"
    return None


def generate_signing_key(path: Path) -> Path:
    """Write a new Ed25519 private key to `path` (PEM, mode 0600) and its public key to
    `<path>.pub`; return the public key's path. Never overwrites an existing file."""
    public_path = path.with_name(path.name + ".pub")
    for target in (path, public_path):
        if target.exists():
            raise InputError(f"{target} already exists; refusing to overwrite a key")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_new(path, private_pem, 0o600)
    _write_new(public_path, public_pem, 0o644)
    return public_path


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in PEM file `path`."""
    data = _read(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in `path`: PEM, or the 64 hex digits `manifest.sig` shows."""
    data = _read(path, "public key")
    text = data.decode("ascii", "replace").strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path} is not an Ed25519 key")
    return key
