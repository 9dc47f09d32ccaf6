"""`make deploy` keeps the environment's samconfig overrides, adds the command line's, in a form SAM reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from samcli.cli.types import CfnParameterOverridesType

from scripts.deploy_overrides import SAMCONFIG, environment_overrides, merged_overrides

SAMPLE = """
version = 0.1
[dev.deploy.parameters]
parameter_overrides = "LogLevel=DEBUG JanitorDryRun=true CorsRemediation=off"
[bare.deploy.parameters]
capabilities = "CAPABILITY_IAM"
"""


@pytest.fixture
def samconfig(tmp_path: Path) -> Path:
    path = tmp_path / "samconfig.toml"
    path.write_text(SAMPLE)
    return path


def as_sam_reads_it(overrides: str) -> dict[str, str]:
    parsed: dict[str, str] = CfnParameterOverridesType().convert([overrides], None, None)
    return parsed


def test_the_command_line_adds_to_the_environment_and_wins_on_a_clash(samconfig: Path) -> None:
    merged = merged_overrides("dev", ["SenderEmail=reports@example.com", "LogLevel=INFO"], samconfig)
    assert as_sam_reads_it(merged) == {
        "LogLevel": "INFO",
        "JanitorDryRun": "true",
        "CorsRemediation": "off",
        "SenderEmail": "reports@example.com",
    }


def test_empty_values_and_spaces_survive_sams_parser(samconfig: Path) -> None:
    merged = merged_overrides(
        "bare", ["AlarmTopicArn=", "AllowedOrigins=https://a.example, https://b.example"], samconfig
    )
    assert as_sam_reads_it(merged) == {
        "AlarmTopicArn": "",
        "AllowedOrigins": "https://a.example, https://b.example",
    }


def test_an_unknown_environment_or_a_malformed_pair_stops_the_deploy(samconfig: Path) -> None:
    with pytest.raises(SystemExit, match="no environment 'qa'"):
        merged_overrides("qa", [], samconfig)
    with pytest.raises(SystemExit, match="not a Key=Value"):
        merged_overrides("dev", ["SenderEmail"], samconfig)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_repositorys_environments_keep_the_janitor_in_dry_run(environment: str) -> None:
    assert environment_overrides(environment, SAMCONFIG)["JanitorDryRun"] == "true"
