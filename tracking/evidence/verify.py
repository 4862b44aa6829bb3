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

`verify` is what a recipient runs on a file from anyone, so nothing in the bundle decides how
much memory or time it takes: metadata files are read with a cap (`MAX_METADATA_BYTES`,
`MAX_SIGNATURE_BYTES`), every member's declared and actual size is capped (`MAX_MEMBER_BYTES`,
and `MAX_TOTAL_BYTES` over all members), a zip may not expand past `MAX_RATIO` times its own
size (plus `RATIO_ALLOWANCE`), and hashing a member stops one byte past the size the manifest
gives it. Anything past a cap is a one-line problem, like any other mismatch.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
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
from typing import IO, Any, Protocol

import msgspec
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

__all__ = [
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_RATIO",
    "MAX_SIGNATURE_BYTES",
    "MAX_SUMS_BYTES",
    "MAX_TOTAL_BYTES",
    "RATIO_ALLOWANCE",
    "VerifyResult",
    "verify_bundle",
]

_SUMS_LINE = re.compile(r"([0-9a-f]{64})  (\S(?:.*\S)?)")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20

MAX_SUMS_BYTES = 16 << 20
"""The largest `SHA256SUMS` read (about 200,000 files)."""
MAX_METADATA_BYTES = 32 << 20
"""The largest `manifest.json` read (about 6,000 orders at ~5 KiB of manifest each)."""
_CONTAINER_BYTES = 64
"""A manifest has at least this many bytes per JSON object or array (a real one has ~200):
denser is a bomb of tiny containers, refused before parsing."""

_Scalar = str | int | float | bool | None


class _File(msgspec.Struct, gc=False):
    path: _Scalar = None
    sha256: _Scalar = None
    size: _Scalar = None


class _Order(msgspec.Struct, gc=False):
    files: list[_Scalar] | None = None


class _Manifest(msgspec.Struct, gc=False):
    """The parts of manifest.json verify checks; the parser skips everything else unbuilt."""

    schema_version: _Scalar = None
    created_at: _Scalar = None
    files: list[_File] | None = None
    orders: list[_Order] | None = None


_MANIFEST = msgspec.json.Decoder(_Manifest)
MAX_SIGNATURE_BYTES = 4096
"""The largest `manifest.sig` read (a signature is under 200 bytes)."""
MAX_MEMBER_BYTES = 2 << 30
"""The largest single file of a bundle."""
MAX_TOTAL_BYTES = 16 << 30
"""The most bytes all files of a bundle may hold together."""
MAX_MEMBERS = 500_000
"""The most files a bundle may hold."""
MAX_RATIO = 100
"""A zip may expand to at most this many times its own size (plus `RATIO_ALLOWANCE`):
PDFs and PNGs are stored, JSON deflates about 10:1; a zip bomb goes past 1,000:1."""
RATIO_ALLOWANCE = 64 << 20


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
    def read(self, name: str, cap: int = MAX_METADATA_BYTES) -> bytearray: ...
    def digest(self, name: str, limit: int) -> tuple[str, int]: ...
    def close(self) -> None: ...


def _mib(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MiB" if size >= 1 << 20 else f"{size:,} bytes"


def _read_capped(handle: IO[bytes], name: str, cap: int) -> bytearray:
    """At most `cap` bytes, read in chunks into one buffer (no doubled peak while reading)."""
    data = bytearray()
    while len(data) <= cap and (chunk := handle.read(min(_CHUNK, cap + 1 - len(data)))):
        data += chunk
    if len(data) > cap:
        raise _Problem(f"{name}: larger than {_mib(cap)}, the most verify reads of it")
    return data


def _hash_capped(handle: IO[bytes], limit: int) -> tuple[str, int]:
    """sha256 and size of a stream, reading at most `limit + 1` bytes."""
    hasher = hashlib.sha256()
    size = 0
    while size <= limit and (chunk := handle.read(min(_CHUNK, limit + 1 - size))):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


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
                if len(found) > MAX_MEMBERS:
                    raise _Problem(f"{self.root.name}: more than {MAX_MEMBERS:,} files")
        return sorted(found)

    def read(self, name: str, cap: int = MAX_METADATA_BYTES) -> bytearray:
        with (self.root / name).open("rb") as handle:
            return _read_capped(handle, name, cap)

    def digest(self, name: str, limit: int) -> tuple[str, int]:
        with (self.root / name).open("rb") as handle:
            return _hash_capped(handle, limit)

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
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _Problem(f"{self.path.name}: more than {MAX_MEMBERS:,} files")
        total = 0
        budget = min(MAX_TOTAL_BYTES, MAX_RATIO * self.path.stat().st_size + RATIO_ALLOWANCE)
        for info in infos:
            if info.file_size > MAX_MEMBER_BYTES:
                raise _Problem(
                    f"{info.filename}: declares {_mib(info.file_size)}, more than the"
                    f" {_mib(MAX_MEMBER_BYTES)} a bundle file may hold"
                )
            total += info.file_size
            if total > budget:
                raise _Problem(
                    f"{self.path.name}: its files expand to more than {_mib(budget)}"
                    " (a zip bomb, or not a bundle)"
                )
            if info.is_dir():
                continue
            if info.filename in seen:
                raise _Problem(f"{info.filename}: appears twice in the zip")
            seen.add(info.filename)
            names.append(info.filename)
        return sorted(names)

    def read(self, name: str, cap: int = MAX_METADATA_BYTES) -> bytearray:
        try:
            with self.zip.open(name) as handle:
                return _read_capped(handle, name, cap)
        except _ZIP_ERRORS as exc:
            raise _Problem(f"{name}: unreadable in the zip ({exc})") from exc

    def digest(self, name: str, limit: int) -> tuple[str, int]:
        try:
            with self.zip.open(name) as handle:
                return _hash_capped(handle, limit)
        except _ZIP_ERRORS as exc:
            raise _Problem(f"{name}: unreadable in the zip ({exc})") from exc

    def canonical(self, created_at: datetime) -> bool:
        """Whether the file is byte for byte the archive `write_zip` makes of its content."""
        names = self.names()
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as rebuilt:
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


def _parse_sums(data: bytes | bytearray) -> dict[str, str]:
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


def _load_manifest(data: bytes | bytearray) -> dict[str, Any]:
    """The checked parts of manifest.json as plain values, in memory proportional to them."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(data[start : start + _CHUNK])
        decoder.decode(b"", True)
    except UnicodeDecodeError as exc:
        raise _Problem(f"{MANIFEST_NAME}: not valid JSON (not UTF-8)") from exc
    if data.count(b"{") + data.count(b"[") > len(data) // _CONTAINER_BYTES + 10_000:
        raise _Problem(f"{MANIFEST_NAME}: not a manifest (a bomb of tiny JSON containers)")
    try:
        parsed = _MANIFEST.decode(data)
    except msgspec.ValidationError as exc:
        raise _Problem(f"{MANIFEST_NAME}: malformed ({exc})") from exc
    except msgspec.DecodeError as exc:
        raise _Problem(f"{MANIFEST_NAME}: not valid JSON ({exc})") from exc
    return {
        "schema_version": parsed.schema_version,
        "created_at": parsed.created_at,
        "files": None
        if parsed.files is None
        else [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in parsed.files],
        "orders": [{"files": o.files} for o in parsed.orders or ()],
    }


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
        if size > MAX_MEMBER_BYTES:
            raise _Problem(
                f"{path}: {MANIFEST_NAME} says {_mib(size)}, more than the"
                f" {_mib(MAX_MEMBER_BYTES)} a bundle file may hold"
            )
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
    sums = _parse_sums(source.read(SUMS_NAME, MAX_SUMS_BYTES))
    manifest_bytes = source.read(MANIFEST_NAME)
    listed = sums.get(MANIFEST_NAME)
    if listed is None:
        raise _Problem(f"{SUMS_NAME}: has no line for {MANIFEST_NAME}")
    counter[0] += 1
    if hashlib.sha256(manifest_bytes).hexdigest() != listed:
        raise _Problem(f"{MANIFEST_NAME}: sha256 mismatch")
    # Only what verify checks is built as the parser goes (msgspec skips the rest): a large
    # manifest of events never becomes a large tree of Python objects.
    manifest = _load_manifest(manifest_bytes)
    if not isinstance(manifest, dict) or manifest.get("schema_version") != MANIFEST_VERSION:
        raise _Problem(f"{MANIFEST_NAME}: unsupported schema_version")

    if SIGNATURE_NAME in present:
        counter[0] += 1
        problem = verify_signature(
            bytes(manifest_bytes),
            bytes(source.read(SIGNATURE_NAME, MAX_SIGNATURE_BYTES)),
            public_key=public_key,
        )
        if problem is not None:
            raise _Problem(f"{SIGNATURE_NAME}: {problem}")
    elif public_key is not None:
        raise _Problem(f"{SIGNATURE_NAME}: missing (a public key was given)")

    entries = list(_file_entries(manifest))
    if sum(size for _, _, size in entries) > MAX_TOTAL_BYTES:
        raise _Problem(f"{MANIFEST_NAME}: its files add up to more than {_mib(MAX_TOTAL_BYTES)}")
    for path, digest, size in sorted(entries):
        if path not in present:
            raise _Problem(f"{path}: missing")
        actual, actual_size = source.digest(path, size)
        counter[0] += 1
        if actual_size > size:
            raise _Problem(f"{path}: size mismatch (more than the {size} bytes the manifest says)")
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
    if source.read(SUMS_NAME, MAX_SUMS_BYTES) != expected:
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
