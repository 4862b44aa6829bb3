"""The texts YunExpress's sandbox writes for simulated events, in English and in Chinese.

The wording per stage is data: the `[[text]]` rows of `statuses.toml`, read here.

Shared by the classic renderer (`sandbox.py`) and the Open Platform's (`openapi_sandbox.py`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from carriers.kit.sandboxes import variant_of
from carriers.kit.simulated import SimEvent
from carriers.kit.tables import read_rows
from tracking.core.domain import Stage

__all__ = ["TEXTS_EN", "TEXTS_ZH", "event_text"]


class _Wording(BaseModel):
    """A `[[text]]` row of `statuses.toml`: the variants of a stage's (or an exception's) text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: Stage
    detail: str = ""
    en: tuple[str, ...] = Field(min_length=1)
    zh: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _detail_of_an_exception(self) -> _Wording:
        if self.detail and self.stage is not Stage.EXCEPTION:
            raise ValueError("only an exception row has a `detail`")
        return self


_ROWS = read_rows(
    "carriers.yunexpress",
    "statuses.toml",
    "text",
    _Wording,
    unique=lambda row: row.detail if row.stage is Stage.EXCEPTION else row.stage,
)

TEXTS_EN: dict[Stage, tuple[str, ...]] = {
    row.stage: row.en for row in _ROWS if row.stage is not Stage.EXCEPTION
}
"""English `ProcessContent` per stage; `SimEvent.variant` picks one."""

TEXTS_ZH: dict[Stage, tuple[str, ...]] = {
    row.stage: row.zh for row in _ROWS if row.stage is not Stage.EXCEPTION
}
"""Chinese `ProcessContent` per stage (`Accept-Language: zh-cn`)."""

_EXCEPTIONS: dict[str, _Wording] = {
    row.detail: row for row in _ROWS if row.stage is Stage.EXCEPTION
}
"""`SimEvent.detail` -> the exception's wording; "" words every other exception."""


_CITIES_ZH: dict[str, str] = {
    "Shenzhen": "深圳",
    "Guangzhou": "广州",
    "Yiwu": "义乌",
    "Dongguan": "东莞",
    "Hangzhou": "杭州",
    "Hong Kong": "香港",
    "Almaty": "阿拉木图",
    "Liege": "列日",
    "Dubai": "迪拜",
}


def event_text(event: SimEvent, *, chinese: bool) -> str:
    """The `ProcessContent` the sandbox writes for a simulated event."""
    if event.stage is Stage.EXCEPTION:
        row = _EXCEPTIONS.get(event.detail, _EXCEPTIONS[""])
        options = row.zh if chinese else row.en
    else:
        options = (TEXTS_ZH if chinese else TEXTS_EN)[event.stage]
    city = _CITIES_ZH.get(event.city, event.city) if chinese else event.city
    return variant_of(options, event).format(city=city)
