"""Writes (or checks) the settings table in docs/configuration.md from the settings specs and the template.

Each variable a function reads is a `Setting` in its settings module; each row for it comes from that spec
(default, bounds, one line of documentation). Parameters no function reads as a variable of its own (the
schedules, the alarms, the concurrency of event sources) come from template.yaml, their one source.

    python -m scripts.settings_table --write   # rewrite the table between the markers
    python -m scripts.settings_table --check   # exit 1 when the table is stale (a unit test runs this)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from groundskeeper.settings import Setting

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
DOC = ROOT / "docs" / "configuration.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"
_CODE = (
    "layers/groundskeeper",
    "layers/org",
    "functions/cors_auditor",
    "functions/eip_janitor",
    "functions/email_sender",
    "functions/deploy_canary",
)
_NESTED = {"AWS::Serverless::Application": "Location", "AWS::CloudFormation::Stack": "TemplateURL"}

type AnySetting = Setting[bool] | Setting[int] | Setting[str] | Setting[tuple[str, ...]]


def sections() -> list[tuple[str, Sequence[AnySetting]]]:
    """Every function's specs, by the part of the app that reads them."""
    for folder in _CODE:
        if str(ROOT / folder) not in sys.path:
            sys.path.insert(0, str(ROOT / folder))
    from cors_auditor import settings as auditor
    from deploy_canary import settings as canary
    from eip_janitor import settings as janitor
    from email_sender import settings as sender
    from groundskeeper import action_journal, notify
    from groundskeeper_org import settings as org

    return [
        ("CORS auditor", auditor.SPECS),
        ("Elastic IP janitor", janitor.SPECS),
        ("Reports of the auditor and the janitor", notify.SPECS),
        ("The action journal (rewrites and releases, before they are made)", action_journal.SPECS),
        ("Email sender", sender.SPECS),
        ("The email sender's deploy canary (its PreTraffic hook)", canary.SPECS),
        ("Hub mode (the auditor's and the janitor's sweeps of member accounts)", org.SPECS),
    ]


def all_specs() -> list[AnySetting]:
    return [spec for _, specs in sections() for spec in specs]


def load_templates(path: Path = TEMPLATE) -> list[dict[str, Any]]:
    """The template and every nested template it names by a local path, in that order, tags as dicts."""
    from samcli.yamlhelper import yaml_parse

    template: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    found = [template]
    for resource in template.get("Resources", {}).values():
        location = resource.get("Properties", {}).get(_NESTED.get(resource.get("Type", ""), ""))
        if isinstance(location, str) and "://" not in location:
            found.extend(load_templates((path.parent / location).resolve()))
    return found


def environments(templates: Sequence[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, Environment.Variables) of the Globals and of every function of every template."""
    for template in templates:
        variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables")
        if variables:
            yield "Globals", variables
        for name, resource in template.get("Resources", {}).items():
            if resource.get("Type") == "AWS::Serverless::Function":
                variables = resource.get("Properties", {}).get("Environment", {}).get("Variables")
                if variables:
                    yield name, variables


def sources(value: Any, template: dict[str, Any]) -> list[tuple[str, str]]:
    """What an environment value is made of: ("parameter" | "resource" | "literal", name or text), through
    !If's branches and !FindInMap; AWS::NoValue is nothing."""
    if isinstance(value, str | int | bool):
        return [("literal", str(value).lower() if isinstance(value, bool) else str(value))]
    if isinstance(value, dict) and "Ref" in value:
        ref = value["Ref"]
        if ref == "AWS::NoValue":
            return []
        return [("parameter" if ref in template.get("Parameters", {}) else "resource", ref)]
    if isinstance(value, dict) and "Fn::If" in value:
        _, then, otherwise = value["Fn::If"]
        return sources(then, template) + sources(otherwise, template)
    if isinstance(value, dict) and "Fn::FindInMap" in value:
        name, top, second = value["Fn::FindInMap"]
        return sources(template.get("Mappings", {}).get(name, {}).get(top, {}).get(second), template)
    return [("resource", str(value))]


def env_sources(templates: Sequence[dict[str, Any]]) -> dict[str, set[tuple[str, str]]]:
    """Every environment variable the templates set -> what it is set from, across all functions."""
    found: dict[str, set[tuple[str, str]]] = {}
    for template in templates:
        for _, variables in environments([template]):
            for env, value in variables.items():
                found.setdefault(env, set()).update(sources(value, template))
    return found


def parameters(templates: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The root template's parameters (the ones a user sets)."""
    return dict(templates[0].get("Parameters", {}))


def as_text(value: bool | int | str | tuple[str, ...]) -> str:
    """A default as a template parameter would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def _shown(text: str) -> str:
    return f"`{text}`" if text else "empty"


def _range(minimum: Any, maximum: Any) -> str:
    if minimum is None and maximum is None:
        return ""
    if maximum is None:
        return f"≥ {minimum}"
    if minimum is None:
        return f"≤ {maximum}"
    return f"{minimum}–{maximum}"


def _spec_bounds(spec: AnySetting) -> str:
    if spec.kind == "bool":
        return "`true`, `false`"
    if spec.choices is not None:
        return ", ".join(f"`{choice}`" for choice in spec.choices)
    return _range(spec.minimum, spec.maximum)


def _parameter_bounds(parameter: dict[str, Any]) -> str:
    if "AllowedValues" in parameter:
        return ", ".join(f"`{value}`" for value in parameter["AllowedValues"])
    return _range(parameter.get("MinValue"), parameter.get("MaxValue"))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|") or "-"


def _spec_row(spec: AnySetting, declared: dict[str, dict[str, Any]]) -> str:
    default = "required" if spec.required else _shown(as_text(spec.default))
    bounds = _spec_bounds(spec) or "-"
    parameter = declared.get(spec.parameter or "")
    if parameter is not None:
        # A parameter that also drives something narrower (an event source's limits) may differ: say so.
        stack_default = str(parameter.get("Default", ""))
        if stack_default != as_text(spec.default):
            default += f" (stack: {_shown(stack_default)})"
        stack_bounds = _parameter_bounds(parameter) or "-"
        if stack_bounds != bounds:
            bounds += f" (stack: {stack_bounds})"
    name = f"`{spec.parameter}`" if spec.parameter else "-"
    return f"| {name} | `{spec.env}` | {default} | {bounds} | {_cell(spec.doc)} |"


def render(templates: Sequence[dict[str, Any]] | None = None) -> str:
    """The text between the markers."""
    templates = templates if templates is not None else load_templates()
    declared = parameters(templates)
    header = ["| parameter | env var | default | bounds | meaning |", "|---|---|---|---|---|"]
    lines: list[str] = []
    fed: set[str] = set()
    for title, specs in sections():
        lines += ["", f"### {title}", "", *header]
        for spec in specs:
            lines.append(_spec_row(spec, declared))
            fed.add(spec.parameter or "")
    # Parameters no function reads as its own setting: the template is their one source.
    passed_on = {
        name: env
        for env, found in env_sources(templates).items()
        for kind, name in found
        if kind == "parameter" and name not in fed
    }
    lines += [
        "",
        "### Stack parameters (the template's own)",
        "",
        "Read by the template itself (schedules, alarms, event sources), or passed to a library as is.",
        "",
        *header,
    ]
    for name, parameter in declared.items():
        if name in fed:
            continue
        env = f"`{passed_on[name]}`" if name in passed_on else "-"
        default = _shown(str(parameter.get("Default", "")))
        description = _cell(str(parameter.get("Description", "")))
        bounds = _parameter_bounds(parameter) or "-"
        lines.append(f"| `{name}` | {env} | {default} | {bounds} | {description} |")
    return "\n".join([*lines, ""])


def replaced(document: str, table: str) -> str:
    """The document with the text between its markers replaced by `table`."""
    start, end = document.index(BEGIN) + len(BEGIN), document.index(END)
    return document[:start] + "\n" + table + "\n" + document[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the table in docs/configuration.md")
    mode.add_argument("--check", action="store_true", help="exit 1 when the table is stale")
    args = parser.parse_args(argv)
    document = DOC.read_text(encoding="utf-8")
    wanted = replaced(document, render())
    if args.write:
        DOC.write_text(wanted, encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")
        return 0
    if document != wanted:
        print(f"{DOC.relative_to(ROOT)} is stale: run `python -m scripts.settings_table --write`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
