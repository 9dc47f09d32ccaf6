"""The email sender's Handlebars renderer: what compiling a large template costs, in time and in memory.

Run: `python -m bench.renderer` (from the repo root); `make bench` runs it with the others. No AWS, no moto:
the compile is plain CPU. Time is CPU time per 100 KB of template, the median of RUNS compiles taking turns
with the baseline: one regular expression that finds every `{{...}}` tag in the same text (re.finditer),
the least any compile has to do. Handlebars.js itself would be the natural baseline, but it runs in node,
not in this process, so its time would mostly be the process and the JSON in between. Memory is
tracemalloc's: what one compiled part keeps (retained) and the most the compile held at once (peak), per
byte of its source text.

A compile that grows linearly costs the same per 100 KB at 40,000 mustaches as at 10,000 (RENDER3, ~1.0x):
it was 2.7x when every tag's line number was counted from the start of the text.
"""

from __future__ import annotations

import gc
import re
import statistics
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.harness import row

RUNS = 5
KB100 = 100_000
_TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)


def mustaches(count: int) -> str:
    """A table of `count` rows, one mustache each (about 30 bytes per mustache)."""
    return "".join(f"<tr><td>{{{{row.v{i % 50}}}}}</td></tr>\n" for i in range(count))


def html_part(size: int, every: int = 100) -> str:
    """`size` bytes of HTML with one mustache per `every` bytes: SES's largest template, when 500 KB."""
    text = '<p class="x">Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor</p>\n'
    unit = (text * 2)[: every - len("{{a.b}}")] + "{{a.b}}"
    return unit * (size // every)


def blank_lines(size: int) -> str:
    """Runs of 4,000 blank lines, each before a standalone comment: `size` bytes of whitespace to trim."""
    unit = "\n" * 4000 + "x\n  {{! note }}\n"
    return unit * (size // len(unit))


def _count_tags(text: str) -> int:
    return sum(1 for _ in _TAG.finditer(text))


def _cpu_seconds(work: Callable[[], Any]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def compile_times(source: str) -> tuple[float, float]:
    """Median CPU seconds of compiling `source` and of the baseline's tag scan, taking turns.

    The compile itself, as compile_template runs it for a text it has not seen, without keeping the result:
    its per-process cache would keep every run's template alive, for the garbage collector to walk.
    """
    from email_sender.handlebars.deadline import _Deadline
    from email_sender.handlebars.template import _compile

    ours, base = [], []
    for _ in range(RUNS):
        gc.collect()
        ours.append(_cpu_seconds(lambda: _compile(source, _Deadline())))
        base.append(_cpu_seconds(partial(_count_tags, source)))
    return statistics.median(ours), statistics.median(base)


def memory(source: str) -> tuple[int, int]:
    """Bytes that the compiled part keeps besides its source text, and the most that the compile held at
    once (tracemalloc)."""
    from email_sender.handlebars import compile_template

    fresh = f"{source}{{{{! memory }}}}"
    gc.collect()
    tracemalloc.start()
    try:
        template = compile_template(fresh)
        gc.collect()
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del template
    return retained, peak


def per_100kb(seconds: float, source: str) -> float:
    return seconds * 1000 / (len(source) / KB100)


def time_row(id_: str, name: str, source: str) -> tuple[dict[str, Any], float]:
    ours, base = compile_times(source)
    figure = f"compile time per 100 KB, {name} ({len(source) / 1000:,.0f} KB)"
    note = f"CPU, median of {RUNS}; {ours * 1000:,.0f} ms in all; baseline = a regex finding every tag"
    return row(id_, figure, per_100kb(ours, source), per_100kb(base, source), unit="ms", note=note), ours


def memory_row(id_: str, name: str, source: str) -> dict[str, Any]:
    retained, peak = memory(source)
    return row(
        id_,
        f"memory one compiled part keeps, {name}",
        retained / 2**20,
        len(source) / 2**20,
        unit="MiB",
        note=f"baseline = the part's own text (not counted in ours); {retained / len(source):.0f} bytes "
        f"per byte; peak during the compile {peak / 2**20:.1f} MiB; tracemalloc",
    )


def run() -> list[dict[str, Any]]:
    small, large, part = mustaches(10_000), mustaches(40_000), html_part(500_000)
    small_row, small_s = time_row("RENDER1", "10,000 mustaches", small)
    large_row, large_s = time_row("RENDER2", "40,000 mustaches", large)
    linear = row(
        "RENDER3",
        "compile time per 100 KB, 40,000 mustaches vs 10,000",
        per_100kb(large_s, large),
        per_100kb(small_s, small),
        unit="ms",
        note="RENDER2 vs RENDER1: ~1.0x when the compile is linear (2.7x before: 0.75 s for 10,000, 8.2 s "
        "for 40,000)",
    )
    return [
        small_row,
        large_row,
        linear,
        time_row("RENDER4", "a 500 KB HTML part, a mustache per 100 bytes", part)[0],
        time_row("RENDER5", "500 KB of blank lines and standalone comments", blank_lines(500_000))[0],
        memory_row("RENDER6", "40,000 mustaches", large),
        memory_row("RENDER7", "a 500 KB HTML part, a mustache per 100 bytes", part),
    ]


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
