"""Benchmarks of the sender's {{{x}}} sanitizing (email_sender/html_fragments.py): CPU only, no AWS.

- FRAG1: sanitizing styled table rows (the shape a scheduler sends), ms per KB, vs escaping the same value
  as {{x}} (what the HTML part did with it before);
- FRAG2: rendering a 30 KB HTML part whose one {{{x}}} gets those rows, vs the same part with {{x}}: the
  sanitizing plus reading the part to place the fragment;
- FRAG3: `import nh3` and building the cleaner, CPU ms in a fresh interpreter (the sender does it at cold
  start; bench/cold_start.py counts it in the sender's row).

Run: `python -m bench.html_fragments`. Medians of repeated runs; every baseline is measured in the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.harness import row  # also puts the functions on sys.path

RUNS = 31
IMPORT_RUNS = 9
ROWS = 50
ROW = (
    '<tr>\n  <td style="padding-left: 4px">{i}</td>\n  <td style="padding-left: 4px">Player {i}</td>\n'
    '  <td style="padding-left: 4px"><a href="https://example.com/p/{i}">Profile</a></td>\n</tr>'
)
# A 30 KB part: the markup of a real email template around one table.
PAGE = (
    "<html><head><style>td { padding: 4px }</style></head><body>"
    + '<table><tr><td class="c" style="color: #555">cell</td></tr></table>\n' * 440
    + "<table>{{{rows}}}</table></body></html>"
)
_IMPORT = (
    "import time; start = time.process_time(); import nh3; "
    "nh3.Cleaner(tags={'p'}).clean('<p>x</p>'); print(time.process_time() - start)"
)


def _median_ms(action: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def _import_ms() -> float:
    command = [sys.executable, "-c", _IMPORT]
    runs = [
        float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        for _ in range(IMPORT_RUNS)
    ]
    return statistics.median(runs) * 1000


def run() -> list[dict[str, Any]]:
    from email_sender.handlebars import Escaping, compile_template, escape_html
    from email_sender.html_fragments import Fragments, sanitize

    rows_html = "\n".join(ROW.format(i=i) for i in range(ROWS))
    kb = len(rows_html.encode()) / 1024
    sanitized = _median_ms(lambda: sanitize(rows_html))
    escaped = _median_ms(lambda: escape_html(rows_html))
    raw_part = compile_template(PAGE)
    plain_part = compile_template(PAGE.replace("{{{rows}}}", "{{rows}}"))
    data = {"rows": rows_html}

    def render_raw() -> str:
        fragments = Fragments()
        return fragments.place(raw_part.render(data, Escaping.HTML, fragments))

    page_kb = len(render_raw().encode()) / 1024
    return [
        row(
            "FRAG1",
            f"sanitize {ROWS} styled table rows ({kb:.1f} KB), ms per KB",
            sanitized / kb,
            escaped / kb,
            unit="ms/KB",
            note="nh3 with the sender's allowlist (each style attribute through its property filter) vs "
            "escaping the same value as {{x}}",
        ),
        row(
            "FRAG2",
            f"render a {page_kb:.0f} KB HTML part whose {{{{{{x}}}}}} gets those rows",
            _median_ms(render_raw),
            _median_ms(lambda: plain_part.render(data, Escaping.HTML)),
            unit="ms",
            note="sanitize + read the part to the placeholder (its tags, quotes, raw-text elements) vs the "
            "same part with {{x}}",
        ),
        row(
            "FRAG3",
            "import nh3 and build a cleaner, CPU in a fresh interpreter",
            _import_ms(),
            None,
            unit="ms",
            note=f"median of {IMPORT_RUNS} processes; at the sender's cold start",
        ),
    ]


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
