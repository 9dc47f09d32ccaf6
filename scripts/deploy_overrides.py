"""One environment's parameter_overrides from samconfig.toml, merged with Key=Value pairs given after it.

A later value wins over samconfig's. Prints the merged list in the form `sam deploy --parameter-overrides`
parses: a value with spaces, or an empty one (Key=""), in double quotes; SAM drops a bare `Key=`.
"""

from __future__ import annotations

import shlex
import sys
import tomllib
from pathlib import Path

SAMCONFIG = Path(__file__).resolve().parent.parent / "samconfig.toml"


def environment_overrides(environment: str, samconfig: Path = SAMCONFIG) -> dict[str, str]:
    config = tomllib.loads(samconfig.read_text())
    if environment not in config:
        raise SystemExit(f"samconfig.toml has no environment {environment!r} (have: {', '.join(config)})")
    raw = config[environment].get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    pairs = shlex.split(raw) if isinstance(raw, str) else list(raw)
    return parse(pairs)


def parse(pairs: list[str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise SystemExit(f"not a Key=Value parameter override: {pair!r}")
        merged[key] = value
    return merged


def merged_overrides(environment: str, extra: list[str], samconfig: Path = SAMCONFIG) -> str:
    merged = {**environment_overrides(environment, samconfig), **parse(extra)}
    return " ".join(f"{key}={_quoted(value)}" for key, value in merged.items())


def _quoted(value: str) -> str:
    if '"' in value:
        raise SystemExit(f"a parameter value cannot contain a double quote: {value!r}")
    return f'"{value}"' if not value or any(c.isspace() for c in value) else value


if __name__ == "__main__":
    print(merged_overrides(sys.argv[1], sys.argv[2:]))
