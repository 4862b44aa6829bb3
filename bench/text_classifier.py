"""Benchmark of the free-text stage classifier over the labelled corpus.

Run from the project root: `python bench/text_classifier.py`. Prints the corpus size,
accuracy, unknown and wrong-stage rates (a wrong stage is a stage other than the label and
other than `unknown`), throughput without and with the cache, and the ratios to the targets
(accuracy >= 95 %, wrong-stage < 1 %).
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from carriers.textstage import classify, explain  # noqa: E402
from tracking.core.domain import Stage  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "event_texts.tsv"
ACCURACY_TARGET = 0.95
WRONG_STAGE_LIMIT = 0.01
PASSES = 20


def load() -> list[tuple[str, Stage, str]]:
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(row["lang"], Stage(row["stage"]), row["text"]) for row in reader]


def throughput(texts: list[str], *, cached: bool) -> float:
    """Texts classified per second over `PASSES` passes of the corpus."""
    explain.cache_clear()
    if cached:
        for text in texts:
            classify(text)
    start = time.perf_counter()
    for _ in range(PASSES):
        if not cached:
            explain.cache_clear()
        for text in texts:
            classify(text)
    return PASSES * len(texts) / (time.perf_counter() - start)


def main() -> int:
    rows = load()
    total = len(rows)
    correct = unknown = wrong = 0
    per_lang: Counter[str] = Counter()
    per_lang_ok: Counter[str] = Counter()
    mistakes: list[str] = []
    for lang, label, text in rows:
        got = classify(text)
        per_lang[lang] += 1
        if got is label:
            correct += 1
            per_lang_ok[lang] += 1
        elif got is Stage.UNKNOWN:
            unknown += 1
            mistakes.append(f"  unknown  {lang} {label.value:<21} {text}")
        else:
            wrong += 1
            mistakes.append(f"  WRONG    {lang} {label.value:<21} -> {got.value}: {text}")
    accuracy = correct / total
    unknown_rate = sum(1 for _, _, t in rows if classify(t) is Stage.UNKNOWN) / total
    wrong_rate = wrong / total
    texts = [text for _, _, text in rows]
    uncached = throughput(texts, cached=False)
    cached = throughput(texts, cached=True)

    print(f"corpus            {total} texts ({', '.join(f'{k} {v}' for k, v in per_lang.items())})")
    print(
        f"accuracy          {accuracy:.2%}  (target >= {ACCURACY_TARGET:.0%}: "
        f"ratio {accuracy / ACCURACY_TARGET:.3f})"
    )
    for lang, count in per_lang.items():
        print(f"  {lang:<15} {per_lang_ok[lang] / count:.2%}")
    print(f"unknown rate      {unknown_rate:.2%}  (labelled unknown or not understood)")
    print(f"misread as unknown {unknown / total:.2%}")
    print(
        f"wrong-stage rate  {wrong_rate:.2%}  (limit < {WRONG_STAGE_LIMIT:.0%}: "
        f"ratio {wrong_rate / WRONG_STAGE_LIMIT:.3f})"
    )
    print(f"throughput        {uncached:,.0f} texts/s uncached, {cached:,.0f} texts/s cached")
    if mistakes:
        print("misses:")
        print("\n".join(mistakes))
    ok = accuracy >= ACCURACY_TARGET and wrong_rate < WRONG_STAGE_LIMIT
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
