"""Every text of the console in English and Chinese (Simplified), and the language choice.

`CATALOGUE` maps a key to its (English, Chinese) pair, read from `texts.toml` (data beside the
code: a new text is a new entry there); a template calls `t("key", name=...)`
and gets the text of the page's language with `{name}` filled in. A test checks that every
key used by a template or a route is here, with both languages.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Final

__all__ = ["CATALOGUE", "LANGUAGES", "Translator", "choose_language"]

LANGUAGES: Final = ("en", "zh")


def _load() -> dict[str, tuple[str, str]]:
    data = tomllib.loads((Path(__file__).parent / "texts.toml").read_text(encoding="utf-8"))
    return {key: (str(texts["en"]), str(texts["zh"])) for key, texts in data.items()}


CATALOGUE: Final[dict[str, tuple[str, str]]] = _load()
"""key -> (English, Chinese), from `texts.toml` beside this module."""


def choose_language(accept_language: str) -> str:
    """`zh` or `en` from an `Accept-Language` header (by quality, then order); `en` else."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept_language.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            candidate = (-quality, position, primary)
            if best is None or candidate < best:
                best = candidate
    return best[2] if best is not None else "en"


class Translator:
    """`t(key, **values)`: the text of `key` in one language, with its `{values}` filled."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self._index = LANGUAGES.index(self.lang)

    def __call__(self, key: str, **values: Any) -> str:
        pair = CATALOGUE.get(key)
        if pair is None:
            raise KeyError(f"no console text {key!r}")
        text = pair[self._index]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether `key` has a text (for keys built from data, e.g. a stage name)."""
        return key in CATALOGUE
