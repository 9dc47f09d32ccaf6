"""Draws the stack's CloudWatch dashboard as HTML from its own DashboardBody, in the nested stack the
transformed template deploys it in: each widget at its grid place, with its title, view and the metrics it
plots. No data is invented, so each chart area says what it graphs, not a made-up curve.
scripts/dashboard-picture.sh renders it to a PNG.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Any

from scripts.rehearse.nested import Stack
from scripts.rehearse.transform import transformed

# CloudWatch's grid is 24 units wide; rows are drawn taller than the console's, to fit each legend.
COLUMN_PX = 46
ROW_PX = 50
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
STACK = "groundskeeper"
# What each ${...} of the body becomes in the picture: the names a stack called "groundskeeper" would get.
NAMES = {
    "AWS::Region": "us-east-1",
    "CorsAuditorFunctionName": f"{STACK}-cors-auditor",
    "EmailSenderFunctionName": f"{STACK}-email-sender",
    "EipJanitorFunctionName": f"{STACK}-eip-janitor",
    "EmailConfigurationSetName": f"{STACK}-email",
    "EmailQueueName": "EmailQueue",
    "EmailDeadLetterQueueName": "EmailDeadLetterQueue",
    "AsyncFailureQueueName": "AsyncFailureQueue",
}


def dashboard_body(deployed: Stack) -> dict[str, Any]:
    observability = deployed.children["Observability"]
    body = observability.resolve(
        observability.template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    )
    text = re.sub(r"\$\{!", "${", re.sub(r"\$\{([A-Za-z0-9:.]+)\}", lambda m: NAMES[m.group(1)], body))
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _series(metric: list[Any]) -> tuple[str, str]:
    """(label, what it is) for one entry of a widget's metrics list."""
    options = metric[-1] if metric and isinstance(metric[-1], dict) else {}
    if "expression" in options:
        label = re.sub(r"\$\{PROP\('Dim\.(\w+)'\)\}", r"one line per \1", options.get("label", options["id"]))
        return label, options["expression"]
    names = [m for m in metric if not isinstance(m, dict)]
    namespace, name, dimensions = names[0], names[1], names[2:]
    dims = ", ".join(f"{k}={v}" for k, v in zip(dimensions[::2], dimensions[1::2], strict=True))
    return options.get("label", name), f"{namespace} {name} ({dims})"


def widget_html(widget: dict[str, Any]) -> str:
    props = widget["properties"]
    left, top = widget["x"] * COLUMN_PX, widget["y"] * ROW_PX
    width, height = widget["width"] * COLUMN_PX - 8, widget["height"] * ROW_PX - 8
    rows = []
    for i, metric in enumerate(props["metrics"]):
        label, source = _series(metric)
        colour = COLOURS[i % len(COLOURS)]
        rows.append(
            f'<li><span class="swatch" style="background:{colour}"></span><b>{html.escape(label)}</b>'
            f'<span class="src">{html.escape(source)}</span></li>'
        )
    view = {"timeSeries": "line", "singleValue": "number"}.get(props.get("view", ""), props.get("view", ""))
    stat = f"{props.get('stat', '')} / {props.get('period', '')} s"
    return (
        f'<div class="widget" style="left:{left}px;top:{top}px;width:{width}px;height:{height}px">'
        f'<div class="title">{html.escape(props["title"])}</div>'
        f'<div class="chart"><span>{html.escape(view)} · {html.escape(stat)}</span></div>'
        f"<ul>{''.join(rows)}</ul></div>"
    )


def page(body: dict[str, Any]) -> str:
    widgets = body["widgets"]
    bottom = max(w["y"] + w["height"] for w in widgets) * ROW_PX
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #f2f3f3; font: 12px/1.35 Arial, sans-serif; color: #16191f; }}
h1 {{ font-size: 16px; margin: 10px 12px 6px; }} h1 small {{ font-weight: normal; color: #687078; }}
.grid {{ position: relative; margin: 0 8px; height: {bottom}px; }}
.widget {{ position: absolute; background: #fff; border: 1px solid #d5dbdb; border-radius: 3px;
  padding: 6px 8px; box-sizing: border-box; overflow: hidden; }}
.title {{ font-weight: bold; font-size: 13px; margin-bottom: 4px; }}
.chart {{ height: 44px; border-bottom: 1px solid #aab7b8; border-left: 1px solid #aab7b8; margin: 0 0 6px;
  display: flex; align-items: flex-end; justify-content: flex-end; color: #879596; font-size: 10px; }}
ul {{ list-style: none; margin: 0; padding: 0; }} li {{ margin: 0 0 3px; }}
.swatch {{ display: inline-block; width: 9px; height: 9px; margin-right: 5px; border-radius: 2px; }}
.src {{ display: block; color: #687078; font-size: 10px; margin-left: 14px; overflow-wrap: anywhere; }}
</style></head><body><h1>{STACK} <small>CloudWatch dashboard, drawn from the template's DashboardBody
</small></h1><div class="grid">{"".join(widget_html(w) for w in widgets)}</div></body></html>"""


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(page(dashboard_body(Stack(transformed()))))
