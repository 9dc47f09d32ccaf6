"""A template as one deployed stack: intrinsics resolved for a parameter set, physical names given, and the
policies of each function's role, found through the function's Handler.

The proof runs the handlers under moto in a world built from the same names, so a request's ARN and the
policy's Resource are written from one source."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

from scripts.rehearse.transform import transformed

MANAGED_POLICIES = Path(__file__).resolve().parent / "managed_policies"
ROOT = Path(__file__).resolve().parents[2]
NO_VALUE = object()
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class Stack:
    """One stack of `template` (a CloudFormation template, already transformed) in one account and region."""

    template: dict[str, Any]
    name: str
    account: str
    region: str = "us-east-1"
    partition: str = "aws"
    parameters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values: dict[str, Any] = {}
        for key, spec in self.template.get("Parameters", {}).items():
            raw = str(self.parameters.get(key, spec.get("Default", "")))
            self.values[key] = raw.split(",") if spec.get("Type") == "CommaDelimitedList" else raw
        unknown = set(self.parameters) - set(self.values)
        if unknown:
            raise KeyError(f"not parameters of the template: {sorted(unknown)}")
        self._conditions: dict[str, bool] = {}
        self._nested: dict[str, Stack] = {}

    # ------------------------------------------------------------------ conditions and intrinsics
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._truth(self.template["Conditions"][name])
        return self._conditions[name]

    def _truth(self, node: Any) -> bool:
        (function, args), *_ = node.items()
        if function == "Condition":
            return self.condition(args)
        if function == "Fn::Equals":
            left, right = (self.resolve(a) for a in args)
            # CloudFormation compares the values as strings: a Number parameter "0" equals 0.
            return bool(left == right or (not isinstance(left, list | dict) and str(left) == str(right)))
        if function == "Fn::Not":
            return not self._truth(args[0])
        if function == "Fn::And":
            return all(self._truth(a) for a in args)
        if function == "Fn::Or":
            return any(self._truth(a) for a in args)
        raise ValueError(f"unsupported condition function {function}")

    def exists(self, logical_id: str) -> bool:
        resource = self.template["Resources"].get(logical_id)
        return resource is not None and ("Condition" not in resource or self.condition(resource["Condition"]))

    def resolve(self, node: Any) -> Any:  # noqa: PLR0911, PLR0912 -- one branch per intrinsic function
        """`node` with every intrinsic function replaced by its value; AWS::NoValue entries dropped."""
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, args), *_ = node.items()
            if key == "Ref":
                return self.ref(args)
            if key == "Fn::GetAtt":
                logical_id, attribute = args.split(".", 1) if isinstance(args, str) else args
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                return self._sub(args)
            if key == "Fn::If":
                name, when_true, when_false = args
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Join":
                delimiter, items = args
                return delimiter.join(str(v) for v in self.resolve(items))
            if key == "Fn::Split":
                delimiter, source = args
                return str(self.resolve(source)).split(delimiter)
            if key == "Fn::Select":
                index, items = args
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::FindInMap":
                name, top, second = (self.resolve(a) for a in args)
                return self.template["Mappings"][name][top][second]
            if key == "Condition" and isinstance(args, str):
                return self.condition(args)
            if key.startswith("Fn::"):
                raise ValueError(f"unsupported intrinsic {key}")
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not NO_VALUE}

    def _sub(self, args: Any) -> str:
        text, variables = (args, {}) if isinstance(args, str) else (args[0], self.resolve(args[1]))

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB.sub(value, text).replace("${!", "${")

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.values:
            return self.values[name]
        kind = self.template["Resources"][name]["Type"]
        physical = self.physical_name(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{physical}"
        if kind in ("AWS::SNS::Topic", "AWS::Lambda::Alias", "AWS::Lambda::Version"):
            return self.get_att(name, "Arn")
        return physical

    def nested(self, logical_id: str) -> Stack:
        """A nested stack (AWS::CloudFormation::Stack with a local TemplateURL), with the parameters this
        stack passes it, named as CloudFormation names nested stacks (<parent>-<logical id>-<suffix>)."""
        if logical_id not in self._nested:
            props = self.resolve(self.template["Resources"][logical_id]["Properties"])
            template = yaml_parse((ROOT / props["TemplateURL"]).read_text())
            passed = {
                k: ",".join(v) if isinstance(v, list) else str(v)
                for k, v in props.get("Parameters", {}).items()
            }
            self._nested[logical_id] = Stack(
                template, self.physical_name(logical_id), self.account, self.region, self.partition, passed
            )
        return self._nested[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.template["Resources"][logical_id]["Type"]
        if kind == "AWS::CloudFormation::Stack" and attribute.startswith("Outputs."):
            child = self.nested(logical_id)
            return str(child.resolve(child.template["Outputs"][attribute.removeprefix("Outputs.")]["Value"]))
        physical = self.physical_name(logical_id)
        head = f"arn:{self.partition}"
        if attribute == "Arn":
            arns = {
                "AWS::SQS::Queue": f"{head}:sqs:{self.region}:{self.account}:{physical}",
                "AWS::DynamoDB::Table": f"{head}:dynamodb:{self.region}:{self.account}:table/{physical}",
                "AWS::S3::Bucket": f"{head}:s3:::{physical}",
                "AWS::IAM::Role": f"{head}:iam::{self.account}:role{self.role_path(logical_id)}{physical}",
                "AWS::Lambda::Function": f"{head}:lambda:{self.region}:{self.account}:function:{physical}",
                "AWS::SNS::Topic": f"{head}:sns:{self.region}:{self.account}:{physical}",
                "AWS::Events::Rule": f"{head}:events:{self.region}:{self.account}:rule/{physical}",
            }
            if kind in arns:
                return arns[kind]
            if kind in ("AWS::Lambda::Version", "AWS::Lambda::Alias"):
                return self._qualified_function_arn(logical_id, kind, physical)
        if attribute == "QueueName" and kind == "AWS::SQS::Queue":
            return physical
        if attribute == "QueueUrl" and kind == "AWS::SQS::Queue":
            return str(self.ref(logical_id))
        return f"{physical}.{attribute}"

    def _qualified_function_arn(self, logical_id: str, kind: str, function_name: str) -> str:
        """A version's or an alias's ARN: its FunctionName is the function's; a version is published as 1."""
        function = f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{function_name}"
        if kind == "AWS::Lambda::Version":
            return f"{function}:1"
        return f"{function}:{self.resolve(self.template['Resources'][logical_id]['Properties']['Name'])}"

    def role_path(self, logical_id: str) -> str:
        """A role's IAM Path ("/" unless the template gives one): part of its ARN, and of aws:PrincipalArn."""
        return str(
            self.resolve(self.template["Resources"][logical_id].get("Properties", {}).get("Path", "/"))
        )

    _NAME_PROPERTIES = ("QueueName", "TableName", "BucketName", "RoleName", "FunctionName", "TopicName")

    def physical_name(self, logical_id: str) -> str:
        """The name the resource's properties give it, or one shaped like CloudFormation's own
        (<stack>-<logical id>-<suffix>), the same on every call."""
        resource = self.template["Resources"][logical_id]
        props = resource.get("Properties", {})
        for key in self._NAME_PROPERTIES:
            if key in props:
                return str(self.resolve(props[key]))
        if resource["Type"] == "AWS::SES::ConfigurationSet" and "Name" in props:
            return str(self.resolve(props["Name"]))
        suffix = hashlib.sha256(f"{self.name}/{logical_id}".encode()).hexdigest()[:12].upper()
        return f"{self.name}-{logical_id}-{suffix}"[:64]

    # ------------------------------------------------------------------ functions, roles, policies
    def resources_of(self, kind: str) -> list[str]:
        return [n for n, r in self.template["Resources"].items() if r["Type"] == kind and self.exists(n)]

    def functions(self) -> dict[str, Function]:
        """Every function of the stack, by its Handler property (module.attribute)."""
        found = {}
        for logical_id in self.resources_of("AWS::Lambda::Function"):
            props = self.resolve(self.template["Resources"][logical_id]["Properties"])
            role_arn = props["Role"]
            role_id = next(
                r for r in self.resources_of("AWS::IAM::Role") if self.get_att(r, "Arn") == role_arn
            )
            found[props["Handler"]] = Function(
                logical_id=logical_id,
                name=self.physical_name(logical_id),
                handler=props["Handler"],
                environment=dict(props.get("Environment", {}).get("Variables", {})),
                role=self.role(role_id),
            )
        return found

    def role(self, logical_id: str) -> Role:
        props = self.resolve(self.template["Resources"][logical_id]["Properties"])
        policies = [(p["PolicyName"], p["PolicyDocument"]) for p in props.get("Policies", [])]
        for arn in props.get("ManagedPolicyArns", []):
            policies.append((arn.rsplit("/", 1)[-1], managed_policy(arn)))
        for policy_id in self.resources_of("AWS::IAM::Policy"):
            policy = self.resolve(self.template["Resources"][policy_id]["Properties"])
            if self.physical_name(logical_id) in policy.get("Roles", []):
                policies.append((policy["PolicyName"], policy["PolicyDocument"]))
        return Role(
            logical_id=logical_id,
            arn=self.get_att(logical_id, "Arn"),
            policies=policies,
            trust_policy=props["AssumeRolePolicyDocument"],
        )


@dataclass
class Role:
    logical_id: str
    arn: str
    policies: list[tuple[str, dict[str, Any]]]
    trust_policy: dict[str, Any]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def statements(self) -> list[tuple[str, dict[str, Any]]]:
        """(policy name, statement) for every statement of every policy."""
        out = []
        for name, document in self.policies:
            statements = document["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                out.append((name, statement))
        return out


@dataclass
class Function:
    logical_id: str
    name: str  # the function's physical name (FunctionName)
    handler: str
    environment: dict[str, str]
    role: Role


def managed_policy(arn: str) -> dict[str, Any]:
    """An AWS managed policy's document, as written down in managed_policies/ (no network)."""
    path = MANAGED_POLICIES / f"{arn.rsplit('/', 1)[-1]}.json"
    if not path.exists():
        raise FileNotFoundError(f"{arn}: write its document to {path.relative_to(Path.cwd())}")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def sam_stack(parameters: dict[str, str], *, name: str, account: str, region: str = "us-east-1") -> Stack:
    """template.yaml as SAM transforms it, deployed as stack `name`."""
    return Stack(transformed(parameters=parameters), name, account, region, parameters=parameters)


def plain_stack(path: Path, parameters: dict[str, str], *, name: str, account: str) -> Stack:
    """A template without a transform (templates/member-role.yaml), deployed as stack `name`."""
    return Stack(yaml_parse(path.read_text()), name, account, parameters=parameters)
