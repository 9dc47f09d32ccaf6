"""Parses environment variables once, at cold start, failing with a SettingsError that names the variable."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from groundskeeper.errors import SettingsError

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def env_str(
    name: str,
    default: str = "",
    *,
    choices: Iterable[str] | None = None,
    required: bool = False,
    environ: Mapping[str, str] = os.environ,
) -> str:
    value = environ.get(name, default).strip()
    if required and not value:
        raise SettingsError(name, "is required but empty or unset")
    if choices is not None:
        allowed = tuple(choices)
        if value not in allowed:
            raise SettingsError(name, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] = os.environ,
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"must be a whole number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(name, f"must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise SettingsError(name, f"must be <= {maximum}; got {value}")
    return value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(name, f"must be true or false; got {raw!r}")


def env_csv(name: str, *, environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """A comma-separated list with blanks dropped; empty or unset gives ()."""
    return tuple(part.strip() for part in environ.get(name, "").split(",") if part.strip())
