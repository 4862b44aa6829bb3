"""The 17TRACK v2.x answer and push shapes, as pydantic models (unknown fields ignored).

Field names follow 17TRACK's v2.2 documentation and its webhook example
(`reference/carrier-samples/17track_1.json`; carrier-apis §5).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Address(Model):
    country: str | None = None
    state: str | None = None
    city: str | None = None


class Event(Model):
    time_iso: str | None = None
    time_utc: str | None = None
    description: str | None = None
    location: str | None = None
    stage: str | None = None
    sub_status: str | None = None
    address: Address | None = None


class ProviderInfo(Model):
    key: int | None = None
    name: str | None = None
    alias: str | None = None
    country: str | None = None


class Provider(Model):
    provider: ProviderInfo | None = None
    latest_sync_status: str | None = None
    latest_sync_time: str | None = None
    events: list[Event] | None = None


class Tracking(Model):
    providers: list[Provider] | None = None


class LatestStatus(Model):
    status: str | None = None
    sub_status: str | None = None


class Milestone(Model):
    key_stage: str | None = None
    time_iso: str | None = None
    time_utc: str | None = None


class MiscInfo(Model):
    local_number: str | None = None
    local_provider: str | None = None
    local_key: int | None = None


class ShippingInfo(Model):
    shipper_address: Address | None = None
    recipient_address: Address | None = None


class TrackInfo(Model):
    shipping_info: ShippingInfo | None = None
    latest_status: LatestStatus | None = None
    milestone: list[Milestone] | None = None
    misc_info: MiscInfo | None = None
    tracking: Tracking | None = None


class Accepted(Model):
    number: str
    carrier: int | None = None
    tag: str | None = None
    track_info: TrackInfo | None = None


class Error(Model):
    code: int | None = None
    message: str | None = None


class Rejected(Model):
    number: str
    error: Error | None = None


class Data(Model):
    accepted: list[Accepted] | None = None
    rejected: list[Rejected] | None = None
    errors: list[Error] | None = None


class Envelope(Model):
    code: int
    data: Data | None = None


class Push(Model):
    event: str
    data: Accepted
