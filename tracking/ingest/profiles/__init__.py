"""Export profiles: how a known marketplace, ERP or aggregator export names its columns.

Each export has one data file, `data/<key>.toml`, written only from public material (the
`sources` it cites). A profile says how the export is recognized (its `signature` headers, all
present), which header carries which order field, the time zone of its naive times, which of
several tracking columns is the international one, and how its item rows group. A file marked
`verified = false` had no public source for its headers: it is listed by `track-evidence formats`
but never used to recognize a file (the generic aliases and `--map` carry it).

```python
profile = recognize(headers)          # the best matching verified profile, or None
if profile is not None:
    where = profile.locate(headers)   # field -> column index
```
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tracking.core.exceptions import ConfigError

__all__ = [
    "FIELDS",
    "REQUIRED_FIELDS",
    "ExportProfile",
    "ProfileError",
    "all_profiles",
    "header_key",
    "load_profiles",
    "recognize",
]

REQUIRED_FIELDS = ("order_id", "tracking_number", "order_date", "destination_country")

_SPACES = re.compile(r"\s+")
_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

FieldName = Literal[
    "tenant",
    "order_id",
    "marketplace",
    "order_date",
    "ship_date",
    "tracking_number",
    "carrier",
    "destination_country",
    "destination_postal_code",
    "destination_city",
    "order_value",
    "currency",
]
FIELDS: tuple[FieldName, ...] = get_args(FieldName)
"""The fields of an order row, in the order `formats` and `--map` name them."""


class ProfileError(ConfigError):
    """A profile data file cannot be used (a packaging defect, named by file and field)."""


def header_key(text: str) -> str:
    """A header as compared: NFKC (full-width to half-width), trimmed, case-folded, inner
    whitespace collapsed to one space, a trailing `*` (a "required" mark) dropped."""
    folded = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()
    while folded.endswith("*"):
        folded = folded[:-1].rstrip()
    return folded


@dataclass(frozen=True, slots=True)
class ExportProfile:
    """One known export, as its data file describes it."""

    key: str
    name: str
    marketplace: str
    kind: str
    verified: bool
    sources: tuple[str, ...]
    file_types: tuple[str, ...]
    timezone: str | None
    date_formats: tuple[str, ...]
    signature: tuple[str, ...]
    no_tracking: str | None
    notes: str
    columns: Mapping[str, tuple[str, ...]]
    ignore_tracking: tuple[str, ...]
    tracking_cell: str | None
    item_rows: bool
    merge_flag: str | None
    package_id: str | None

    def locate(self, headers: Sequence[str]) -> dict[str, int]:
        """Field -> index of its column in `headers`: for each field, the first of the
        profile's header names present wins; a header in `ignore_tracking` is never used."""
        positions: dict[str, int] = {}
        for index, header in enumerate(headers):
            positions.setdefault(header_key(header), index)
        ignored = {header_key(name) for name in self.ignore_tracking}
        found: dict[str, int] = {}
        for field, names in self.columns.items():
            for name in names:
                key = header_key(name)
                if key in positions and not (field == "tracking_number" and key in ignored):
                    found[field] = positions[key]
                    break
        return found

    def matches(self, headers: Sequence[str]) -> bool:
        """True when every signature header is present (verified profiles only)."""
        if not self.verified or not self.signature:
            return False
        present = {header_key(header) for header in headers}
        return all(header_key(name) in present for name in self.signature)


# ---------------------------------------------------------------------------------------------
# Data files
# ---------------------------------------------------------------------------------------------


class _Tracking(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ignore: list[str] = Field(default_factory=list)
    cell: Literal["carrier:number"] | None = None


class _Grouping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item_rows: bool = False
    merge_flag: str | None = None
    package_id: str | None = None


class _ProfileFile(BaseModel):
    """The shape of one `data/<key>.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: str = Field(min_length=1)
    marketplace: str
    kind: Literal["marketplace", "erp", "aggregator"]
    verified: bool
    sources: list[str] = Field(default_factory=list)
    file_types: list[Literal["csv", "txt", "tsv", "xlsx", "xls", "xlsm", "xlsb", "ods"]] = Field(
        min_length=1
    )
    timezone: str | None = None
    date_formats: list[str] = Field(default_factory=list)
    signature: list[str] = Field(default_factory=list)
    no_tracking: str = ""
    notes: str = ""
    columns: dict[FieldName, list[str]] = Field(default_factory=dict)
    tracking: _Tracking = Field(default_factory=_Tracking)
    grouping: _Grouping = Field(default_factory=_Grouping)

    @field_validator("key")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError(f"{value!r} is not kebab-case (a-z, 0-9 and single hyphens)")
        return value

    @field_validator("marketplace")
    @classmethod
    def _lower(cls, value: str) -> str:
        if value != value.strip().lower():
            raise ValueError(f"{value!r} must be lower-case without spaces around it")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @field_validator("date_formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        for fmt in value:
            if "%" not in fmt:
                raise ValueError(f"{fmt!r} is not a strptime format (no % directive)")
        return value

    @field_validator("columns")
    @classmethod
    def _names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for field, names in value.items():
            if not names or any(not header_key(name) for name in names):
                raise ValueError(f"{field}: give at least one non-empty header name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> _ProfileFile:
        if self.verified:
            if not self.sources:
                raise ValueError("a verified profile cites at least one source")
            if not self.signature:
                raise ValueError("a verified profile has signature headers")
        elif self.signature or self.columns:
            raise ValueError(
                "an unverified profile has no signature or columns "
                "(header names are written only from a public source)"
            )
        keys = [header_key(name) for name in self.signature]
        if len(set(keys)) != len(keys) or not all(keys):
            raise ValueError("signature headers must be non-empty and distinct")
        ignored = {header_key(name) for name in self.tracking.ignore}
        wrong = [n for n in self.columns.get("tracking_number", []) if header_key(n) in ignored]
        if wrong:
            raise ValueError(f"tracking_number lists an ignored column: {wrong[0]!r}")
        if self.verified and not self.no_tracking:
            missing = [f for f in REQUIRED_FIELDS if f not in self.columns]
            if missing:
                raise ValueError(
                    "a verified export with tracking maps every required field; missing: "
                    + ", ".join(missing)
                    + " (or set no_tracking)"
                )
        return self


def _profile(data: _ProfileFile) -> ExportProfile:
    """The profile a data file describes: the fields the file words otherwise, then every
    other field as the file has it (lists frozen into tuples)."""
    worded: dict[str, Any] = {
        "no_tracking": data.no_tracking or None,
        "columns": MappingProxyType({f: tuple(names) for f, names in data.columns.items()}),
        "ignore_tracking": tuple(data.tracking.ignore),
        "tracking_cell": data.tracking.cell,
        **data.grouping.model_dump(),
    }
    same = (f.name for f in fields(ExportProfile) if f.name not in worded)
    plain = {name: getattr(data, name) for name in same}
    frozen: dict[str, Any] = {n: tuple(v) if isinstance(v, list) else v for n, v in plain.items()}
    return ExportProfile(**frozen, **worded)


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(file)"
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {message}{more}"


def load_profiles(directory: Traversable) -> tuple[ExportProfile, ...]:
    """Every `*.toml` profile in `directory`, validated, sorted by key.

    Raises `ProfileError` naming the file and field of the first problem.
    """
    profiles: list[ExportProfile] = []
    seen: dict[str, str] = {}
    for entry in sorted(directory.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".toml"):
            continue
        try:
            raw = tomllib.loads(entry.read_text(encoding="utf-8"))
            data = _ProfileFile.model_validate(raw)
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"export profile {entry.name}: not valid TOML ({exc})") from None
        except ValidationError as exc:
            raise ProfileError(f"export profile {entry.name}: {_problem(exc)}") from None
        if entry.name != f"{data.key}.toml":
            raise ProfileError(
                f"export profile {entry.name}: key {data.key!r} does not match the file name"
            )
        if data.key in seen:
            raise ProfileError(f"export profile {entry.name}: key {data.key!r} is used twice")
        seen[data.key] = entry.name
        profiles.append(_profile(data))
    return tuple(profiles)


@functools.cache
def all_profiles() -> tuple[ExportProfile, ...]:
    """Every profile shipped in the package (`data/*.toml`), validated once and cached."""
    return load_profiles(resources.files(__name__) / "data")


def recognize(
    headers: Sequence[str], profiles: Sequence[ExportProfile] | None = None
) -> ExportProfile | None:
    """The verified profile whose whole signature is present in `headers`.

    When several match, the one with the most signature headers wins, then the one with the most
    mapped columns present; None when none matches.
    """
    candidates = [
        p for p in (all_profiles() if profiles is None else profiles) if p.matches(headers)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (len(p.signature), len(p.locate(headers))))
