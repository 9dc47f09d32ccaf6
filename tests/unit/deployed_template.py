"""The template as CloudFormation would deploy it for given parameter values: SAM's transform, conditions
applied, intrinsics resolved, and the nested hub-mode stack (templates/hub.yaml) with the parameters the
root passes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

from scripts.rehearse.transform import ROOT, transformed

ACCOUNT = "123456789012"
STACK = "gk"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": STACK,
    "AWS::StackId": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{STACK}/8d2f1c60-1b2a-11f1-9c3e",
}
NO_VALUE = object()


class Resolver:
    """Just the intrinsics the templates use, over given parameter values."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        self.values: dict[str, Any] = dict(PSEUDO)
        for name, spec in template.get("Parameters", {}).items():
            raw = parameters.get(name, spec.get("Default", ""))
            self.values[name] = str(raw).split(",") if spec["Type"] == "CommaDelimitedList" else str(raw)
        self.values.update({k: v for k, v in parameters.items() if k in PSEUDO})
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def resolve(self, node: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per intrinsic
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.values.get(arg, f"<{arg}>")
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                # CloudFormation compares the values as strings: a Number parameter "0" equals 0.
                left, right = self.resolve(arg[0]), self.resolve(arg[1])
                return left == right or (not isinstance(left, list | dict) and str(left) == str(right))
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Fn::Join":
                return arg[0].join(self.resolve(arg[1]))
            if key == "Fn::Split":
                return self.resolve(arg[1]).split(arg[0])
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(arg[0])]
            if key == "Fn::FindInMap":
                name, top, second = (self.resolve(a) for a in arg)
                return self.template["Mappings"][name][top][second]
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                for name, value in {**self.values, **extra}.items():
                    if isinstance(value, str):
                        text = text.replace("${" + name + "}", value)
                return text
            if key == "Fn::GetAtt":
                return f"<{'.'.join(arg) if isinstance(arg, list) else arg}>"
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not NO_VALUE}


def resolved(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The resources CloudFormation would create from `template`, conditions applied, intrinsics resolved."""
    resolver = Resolver(template, parameters)
    return {
        name: resolver.resolve(resource)
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }


def deployed(parameters: dict[str, str], pseudo: dict[str, str] | None = None) -> dict[str, Any]:
    """The root stack's resources for these parameter values (and pseudo parameters, e.g. another
    AWS::StackId for a stack re-created under the same name)."""
    return resolved(transformed(parameters=parameters), {**parameters, **(pseudo or {})})


def nested_template(application: dict[str, Any]) -> dict[str, Any]:
    """The template an AWS::Serverless::Application (or its transformed AWS::CloudFormation::Stack) with a
    local Location names, as written."""
    properties = application["Properties"]
    location = properties.get("Location") or properties["TemplateURL"]
    parsed: dict[str, Any] = yaml_parse(Path(ROOT, location).read_text())
    return parsed


def hub_template() -> dict[str, Any]:
    """templates/hub.yaml, as the root's Hub application names it."""
    return nested_template(transformed()["Resources"]["Hub"])


def deployed_hub(parameters: dict[str, str]) -> dict[str, Any] | None:
    """The nested hub stack's resources for these root parameter values; None outside hub mode."""
    root = deployed(parameters)
    if "Hub" not in root:
        return None
    passed = {name: str(value) for name, value in root["Hub"]["Properties"]["Parameters"].items()}
    return resolved(nested_template(root["Hub"]), passed)
