"""Parses environment variables once, at cold start, failing with a SettingsError that names the variable.

Each variable a function reads is declared once, as a `Setting`: its name, default, bounds, the template
parameter that feeds it, and one line for the configuration docs. The function's `from_env` reads it by
that spec; a unit test holds the template to the specs, and `python -m scripts.settings_table` writes
docs/configuration.md from them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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
    value = environ.get(name, "").strip() or default
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


@dataclass(frozen=True)
class Setting[T: (bool, int, str, tuple[str, ...])]:
    """One environment variable's spec; its kind follows from the default's type.

    bool: true/false and the like; int: a whole number within minimum..maximum; str: any text, or one of
    `choices`; tuple: a comma-separated list. Unset or blank means the default (or, when `required`, an
    error). `parameter` names the template parameter that feeds the variable; None when the template sets
    it from a resource (a queue URL, a table name), from a constant, or not at all."""

    env: str
    default: T
    doc: str
    parameter: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None
    required: bool = False

    @property
    def kind(self) -> str:
        if isinstance(self.default, bool):
            return "bool"
        if isinstance(self.default, int):
            return "int"
        if isinstance(self.default, tuple):
            return "csv"
        return "choice" if self.choices is not None else "str"

    def read(self, environ: Mapping[str, str] = os.environ) -> T:
        """The variable's value by this spec; a SettingsError naming the variable when it breaks it."""
        default = self.default
        if isinstance(default, bool):
            return env_bool(self.env, default, environ=environ)
        if isinstance(default, int):
            return env_int(self.env, default, minimum=self.minimum, maximum=self.maximum, environ=environ)
        if isinstance(default, tuple):
            return env_csv(self.env, environ=environ)
        return env_str(self.env, default, choices=self.choices, required=self.required, environ=environ)
