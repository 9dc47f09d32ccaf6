"""The stacks a transformed template deploys, its nested stacks included, for one set of parameter values:
which resources exist, and what a Ref, a GetAtt (of a nested stack's output too) or an Fn::If stands for.

Enough for the template tests and the rehearsal to follow a name from the resource that owns it, through
the parameters of a nested stack, to the alarm or dashboard that uses it. Not a CloudFormation engine: what
it cannot resolve (Fn::Sub, Fn::Select, ...) it returns as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

from scripts.rehearse.transform import ROOT

NESTED_STACK = "AWS::CloudFormation::Stack"


@dataclass(frozen=True)
class Attribute:
    """A value only CloudFormation knows: a Ref (name "Ref") or a GetAtt of the resource `logical` in the
    stack at `path` ("" for the root, "Observability" for a stack nested in it)."""

    path: str
    logical: str
    name: str


def local_template(url: str) -> dict[str, Any]:
    """A nested template as an unpackaged root names it: a path relative to the repository."""
    template: dict[str, Any] = yaml_parse((ROOT / Path(url)).read_text())
    return template


class Stack:
    """One stack of the tree, with its parameters resolved and its nested stacks built."""

    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, Any] | None = None,
        path: str = "",
        load: Callable[[str], dict[str, Any]] = local_template,
    ) -> None:
        self.template = template
        self.path = path
        given = parameters or {}
        self.parameters = {
            name: given.get(name, spec.get("Default", ""))
            for name, spec in template.get("Parameters", {}).items()
        }
        self._lists = {
            name
            for name, spec in template.get("Parameters", {}).items()
            if spec.get("Type") == "CommaDelimitedList"
        }
        self._load = load
        self.children: dict[str, Stack] = {}
        for logical in self.resources(NESTED_STACK):
            self._child(logical)

    def _child(self, logical: str) -> Stack | None:
        """The nested stack `logical`, built on first use (a sibling's parameters may read its outputs)."""
        if logical not in self.children:
            resource = self.resources(NESTED_STACK).get(logical)
            if resource is None:
                return None
            properties = resource["Properties"]
            self.children[logical] = Stack(
                self._load(self.resolve(properties["TemplateURL"])),
                {k: self.resolve(v) for k, v in properties.get("Parameters", {}).items()},
                f"{self.path}/{logical}".lstrip("/"),
                self._load,
            )
        return self.children[logical]

    def stacks(self) -> Iterator[Stack]:
        """This stack and every stack nested in it, depth first."""
        yield self
        for child in self.children.values():
            yield from child.stacks()

    def resources(self, kind: str | None = None) -> dict[str, dict[str, Any]]:
        """The resources this stack creates with its parameters (of one type, if given)."""
        return {
            logical: resource
            for logical, resource in self.template.get("Resources", {}).items()
            if (kind is None or resource["Type"] == kind)
            and ("Condition" not in resource or self.condition(resource["Condition"]))
        }

    def condition(self, name: str) -> bool:
        return bool(self._evaluate(self.template["Conditions"][name]))

    def _evaluate(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            [(function, args)] = node.items()
            if function == "Condition":
                return self.condition(args)
            if function == "Fn::Equals":
                return self._evaluate(args[0]) == self._evaluate(args[1])
            if function == "Fn::Not":
                return not self._evaluate(args[0])
            if function == "Fn::And":
                return all(self._evaluate(arg) for arg in args)
            if function == "Fn::Or":
                return any(self._evaluate(arg) for arg in args)
        return self.resolve(node)

    def resolve(self, node: Any) -> Any:
        """What a value of this stack's template stands for: a literal, a list, or an Attribute. Fn::Sub
        substitutes what resolves to a string and leaves ${Name} where it does not."""
        if not isinstance(node, dict) or len(node) != 1:
            return node
        [(function, args)] = node.items()
        resolver: Callable[[Any], Any] | None = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::If": self._if,
            "Fn::Join": self._join,
            "Fn::Sub": self._sub,
        }.get(function)
        return node if resolver is None else resolver(args)

    def _get_att(self, args: Any) -> Any:
        logical, attribute = args if isinstance(args, list) else args.split(".", 1)
        child = self._child(logical) if attribute.startswith("Outputs.") else None
        if child is None:
            return Attribute(self.path, logical, attribute)
        output = child.template["Outputs"][attribute.removeprefix("Outputs.")]
        return child.resolve(output["Value"])

    def _if(self, args: Any) -> Any:
        condition, if_true, if_false = args
        return self.resolve(if_true if self.condition(condition) else if_false)

    def _join(self, args: Any) -> str:
        separator, values = args
        items = self.resolve(values)
        items = items if isinstance(items, list) else [self.resolve(v) for v in values]
        return str(separator).join(str(self.resolve(item)) for item in items)

    def _sub(self, args: Any) -> str:
        text, variables = (args, {}) if isinstance(args, str) else args
        values = {**self.parameters, **{name: self.resolve(v) for name, v in variables.items()}}

        def value(match: re.Match[str]) -> str:
            found = values.get(match.group(1))
            return found if isinstance(found, str) else match.group(0)

        return re.sub(r"\$\{([\w:.]+)\}", value, str(text))

    def _ref(self, name: str) -> Any:
        if name in self.parameters:
            value = self.parameters[name]
            if name in self._lists and isinstance(value, str):
                return value.split(",") if value else [""]
            return value
        if name == "AWS::NoValue":
            return None
        if name.startswith("AWS::"):
            return f"<{name}>"
        return Attribute(self.path, name, "Ref")
