"""The shipped request schema check is exactly what fastjsonschema generates from REQUEST_SCHEMA today."""

from __future__ import annotations

from scripts.generate_request_validator import TARGET, render


def test_the_shipped_validator_is_generated_from_the_current_schema() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), (
        "request_validator.py is stale: run `python -m scripts.generate_request_validator`"
    )
