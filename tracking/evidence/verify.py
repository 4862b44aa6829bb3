"""`verify_bundle`: recompute every digest of a bundle (folder or zip) and check its signature.

Checks, in this order, stopping at the first problem:

1. `SHA256SUMS` and `manifest.json` are there, `SHA256SUMS` is well formed and its line for
   `manifest.json` matches the manifest's bytes;
2. `manifest.json` parses and has a schema version this code knows;
3. `manifest.sig`, when present (or required by a given public key), is a valid Ed25519
   signature over the exact bytes of `manifest.json` (by the given key, if any);
4. every file the manifest lists exists with the listed size and sha256;
5. no other file is in the bundle;
6. `SHA256SUMS` is byte for byte what the manifest implies;
7. a zip file is byte for byte the canonical archive of its content (`archive.write_zip`).

Any single changed, removed or added byte or file fails one of these.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tracking.evidence.archive import write_zip
from tracking.evidence.manifest import (
    MANIFEST_NAME,
    MANIFEST_VERSION,
    SIGNATURE_NAME,
    SUMS_NAME,
    sums_text,
)
from tracking.evidence.signing import verify_signature

__all__ = ["VerifyResult", "verify_bundle"]

_SUMS_LINE = re.compile(r"([0-9a-f]{64})  (\S(?:.*\S)?)")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of `verify_bundle`: `problem` names the first mismatch (None when ok)."""

    ok: bool
    checked: int
    problem: str | None


class _Problem(Exception):
    pass


class _Source(Protocol):
    def names(self) -> list[str]: ...
    def read(self, name: str) -> bytes: ...
    def digest(self, name: str) -> tuple[str, int]: ...
    def close(self) -> None: ...


class _Folder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            base = Path(dirpath)
            for name in dirnames:
                if (base / name).is_symlink():
                    rel = (base / name).relative_to(self.root).as_posix()
                    raise _Problem(f"{rel}: symbolic link in the bundle")
            for name in filenames:
                full = base / name
                rel = full.relative_to(self.root).as_posix()
                mode = full.lstat().st_mode
                if not stat.S_ISREG(mode):
                    raise _Problem(f"{rel}: not a regular file")
                found.append(rel)
        return sorted(found)

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def digest(self, name: str) -> tuple[str, int]:
        hasher = hashlib.sha256()
        size = 0
        with (self.root / name).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
                size += len(chunk)
        return hasher.hexdigest(), size

    def close(self) -> None:
        return None


_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    ValueError,
    EOFError,
    zlib.error,
    RuntimeError,
    NotImplementedError,
)
"""What reading a damaged member can raise: a flipped byte in deflated data (`zlib.error`), in
a member's flags ("encrypted": `RuntimeError`; an unsupported feature: `NotImplementedError`)."""


class _Zip:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise _Problem(f"{path.name}: not a readable zip file ({exc})") from exc

    def names(self) -> list[str]:
        names: list[str] = []
        seen: set[str] = set()
        for info in self.zip.infolist():
            if info.is_dir():
                continue
            if info.filename in seen:
                raise _Problem(f"{info.filename}: appears twice in the zip")
            seen.add(info.filename)
            names.append(info.filename)
        return sorted(names)

    def read(self, name: str) -> bytes:
        try:
            return self.zip.read(name)
        except _ZIP_ERRORS as exc:
            raise _Problem(f"{name}: unreadable in the zip ({exc})") from exc

    def digest(self, name: str) -> tuple[str, int]:
        hasher = hashlib.sha256()
        size = 0
        try:
            with self.zip.open(name) as handle:
                while chunk := handle.read(_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
        except _ZIP_ERRORS as exc:
            raise _Problem(f"{name}: unreadable in the zip ({exc})") from exc
        return hasher.hexdigest(), size

    def canonical(self, created_at: datetime) -> bool:
        """Whether the file is byte for byte the archive `write_zip` makes of its content."""
        names = self.names()
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as rebuilt:
            write_zip(
                rebuilt,
                [(name, functools.partial(self.zip.open, name)) for name in names],
                created_at=created_at,
            )
            rebuilt.seek(0)
            with self.path.open("rb") as original:
                while True:
                    a = rebuilt.read(_CHUNK)
                    b = original.read(_CHUNK)
                    if a != b:
                        return False
                    if not a:
                        return True

    def close(self) -> None:
        self.zip.close()


def _parse_sums(data: bytes) -> dict[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Problem(f"{SUMS_NAME}: not UTF-8 text") from exc
    if not text.endswith("\n"):
        raise _Problem(f"{SUMS_NAME}: does not end with a newline")
    entries: dict[str, str] = {}
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        match = _SUMS_LINE.fullmatch(line)
        if match is None:
            raise _Problem(f"{SUMS_NAME}: malformed line {number}")
        digest, path = match.groups()
        if path in entries:
            raise _Problem(f"{SUMS_NAME}: {path} listed twice")
        entries[path] = digest
    return entries


def _safe_path(path: object) -> str:
    if not isinstance(path, str) or not path or "\\" in path or "\n" in path:
        raise _Problem(f"{MANIFEST_NAME}: invalid file path {path!r}")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in path.split("/")):
        raise _Problem(f"{MANIFEST_NAME}: invalid file path {path!r}")
    return path


def _file_entries(manifest: dict[str, Any]) -> Iterator[tuple[str, str, int]]:
    files = manifest.get("files")
    if not isinstance(files, list):
        raise _Problem(f"{MANIFEST_NAME}: no files list")
    seen: set[str] = set()
    for entry in files:
        if not isinstance(entry, dict):
            raise _Problem(f"{MANIFEST_NAME}: malformed files entry")
        path = _safe_path(entry.get("path"))
        digest = entry.get("sha256")
        size = entry.get("size")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise _Problem(f"{path}: malformed sha256 in {MANIFEST_NAME}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise _Problem(f"{path}: malformed size in {MANIFEST_NAME}")
        if path in seen or path in (MANIFEST_NAME, SUMS_NAME, SIGNATURE_NAME):
            raise _Problem(f"{path}: listed twice in {MANIFEST_NAME}")
        seen.add(path)
        yield path, digest, size


def _check(source: _Source, public_key: Ed25519PublicKey | None, counter: list[int]) -> None:
    names = source.names()
    present = set(names)
    for required in (SUMS_NAME, MANIFEST_NAME):
        if required not in present:
            raise _Problem(f"{required}: missing")
    sums = _parse_sums(source.read(SUMS_NAME))
    manifest_bytes = source.read(MANIFEST_NAME)
    listed = sums.get(MANIFEST_NAME)
    if listed is None:
        raise _Problem(f"{SUMS_NAME}: has no line for {MANIFEST_NAME}")
    counter[0] += 1
    if hashlib.sha256(manifest_bytes).hexdigest() != listed:
        raise _Problem(f"{MANIFEST_NAME}: sha256 mismatch")
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Problem(f"{MANIFEST_NAME}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("schema_version") != MANIFEST_VERSION:
        raise _Problem(f"{MANIFEST_NAME}: unsupported schema_version")

    if SIGNATURE_NAME in present:
        counter[0] += 1
        problem = verify_signature(
            manifest_bytes, source.read(SIGNATURE_NAME), public_key=public_key
        )
        if problem is not None:
            raise _Problem(f"{SIGNATURE_NAME}: {problem}")
    elif public_key is not None:
        raise _Problem(f"{SIGNATURE_NAME}: missing (a public key was given)")

    entries = list(_file_entries(manifest))
    for path, digest, size in sorted(entries):
        if path not in present:
            raise _Problem(f"{path}: missing")
        actual, actual_size = source.digest(path)
        counter[0] += 1
        if actual_size != size:
            raise _Problem(f"{path}: size mismatch ({actual_size} bytes, manifest says {size})")
        if actual != digest:
            raise _Problem(f"{path}: sha256 mismatch")
    known = {path for path, _, _ in entries} | {MANIFEST_NAME, SUMS_NAME, SIGNATURE_NAME}
    for name in names:
        if name not in known:
            raise _Problem(f"{name}: not listed in {MANIFEST_NAME}")
    for order in manifest.get("orders") or ():
        for path in (order.get("files") or ()) if isinstance(order, dict) else ():
            if path not in known:
                raise _Problem(f"{MANIFEST_NAME}: order file {path!r} is not in the files list")
    expected = sums_text(
        [(path, digest) for path, digest, _ in entries] + [(MANIFEST_NAME, listed)]
    ).encode("utf-8")
    if source.read(SUMS_NAME) != expected:
        raise _Problem(f"{SUMS_NAME}: does not match {MANIFEST_NAME}")
    if isinstance(source, _Zip):
        try:
            created_at = datetime.strptime(
                f"{manifest.get('created_at')}+0000", "%Y-%m-%dT%H:%M:%SZ%z"
            )
        except ValueError as exc:
            raise _Problem(f"{MANIFEST_NAME}: malformed created_at") from exc
        if not source.canonical(created_at):
            raise _Problem(
                f"{source.path.name}: zip structure differs from the bundle's canonical archive"
            )


def verify_bundle(path: Path, *, public_key: Ed25519PublicKey | None = None) -> VerifyResult:
    """Check the bundle at `path` (a folder or a .zip file); see the module docstring."""
    if not path.exists():
        return VerifyResult(ok=False, checked=0, problem=f"{path}: not found")
    counter = [0]
    try:
        source: _Source = _Folder(path) if path.is_dir() else _Zip(path)
    except _Problem as problem:
        return VerifyResult(ok=False, checked=0, problem=str(problem))
    try:
        _check(source, public_key, counter)
    except _Problem as problem:
        return VerifyResult(ok=False, checked=counter[0], problem=str(problem))
    except OSError as exc:
        return VerifyResult(ok=False, checked=counter[0], problem=f"{path}: unreadable ({exc})")
    finally:
        source.close()
    return VerifyResult(ok=True, checked=counter[0], problem=None)
