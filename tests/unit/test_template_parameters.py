"""The console's view of the parameters: every one sits in exactly one group of the root template."""

from __future__ import annotations

from collections import Counter

from scripts.rehearse.transform import transformed


def test_every_parameter_is_in_exactly_one_group() -> None:
    template = transformed()
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = Counter(name for group in groups for name in group["Parameters"])
    assert [name for name, count in grouped.items() if count > 1] == []
    assert set(grouped) == set(template["Parameters"])
