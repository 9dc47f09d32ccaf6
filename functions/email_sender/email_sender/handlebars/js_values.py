"""JavaScript's value semantics, which Handlebars.js renders with: undefined, truthiness, `==`, String().

JSON data maps onto JS values one to one, except that JS has `undefined` too. Lookups follow Handlebars'
own-property rules, and the strict ones fail the render as Handlebars.js in strict mode throws.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from email_sender.handlebars.errors import MissingVariableError, TemplateRenderError


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


class _NullContext(dict[str, Any]):
    """Handlebars' `container.nullContext`: the `this` a helper gets when the context is null/undefined."""

    __slots__ = ()


NULL_CONTEXT: Any = _NullContext()

# Properties that every JS object has through its prototype: `name in obj` is true for them, and Handlebars'
# prototype-access rules then resolve them to undefined.
_OBJECT_PROTO = frozenset(
    {
        "constructor",
        "__defineGetter__",
        "__defineSetter__",
        "hasOwnProperty",
        "__lookupGetter__",
        "__lookupSetter__",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toString",
        "valueOf",
        "__proto__",
        "toLocaleString",
    }
)
_ARRAY_PROTO = _OBJECT_PROTO | frozenset(
    {
        "length",
        "at",
        "concat",
        "copyWithin",
        "entries",
        "every",
        "fill",
        "filter",
        "find",
        "findIndex",
        "findLast",
        "findLastIndex",
        "flat",
        "flatMap",
        "forEach",
        "includes",
        "indexOf",
        "join",
        "keys",
        "lastIndexOf",
        "map",
        "pop",
        "push",
        "reduce",
        "reduceRight",
        "reverse",
        "shift",
        "slice",
        "some",
        "sort",
        "splice",
        "toReversed",
        "toSorted",
        "toSpliced",
        "unshift",
        "values",
        "with",
    }
)
_JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}
_ESCAPE_CHARS = re.compile("[&<>\"'`=]")


def escape_html(text: str) -> str:
    """Handlebars' escapeExpression on a string: & < > " ' ` = become entities."""
    return _ESCAPE_CHARS.sub(lambda m: _ESCAPES[m.group()], text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict | list)


def js_number(value: float) -> str:
    """ECMAScript Number::toString."""
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + int(exponent)  # value = 0.d1..dk x 10^n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text


def js_string(value: Any) -> str:
    """JavaScript's String(value) for JSON values, with null and undefined as "" (how Handlebars appends)."""
    if isinstance(value, str):
        return value
    if value is None or value is UNDEFINED:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return js_number(value)
    if isinstance(value, list):
        return ",".join(js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    # The one other value a template reaches is @partial-block, a function in Handlebars.js: String() of it
    # is its JavaScript source. A template renders it with {{> @partial-block}}, never as text.
    raise TemplateRenderError(f"{value!r} is not a value to print: render it with {{{{> {value!r}}}}}")


def _property_key(value: Any) -> str:
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    return js_string(value)


def _truthy(value: Any) -> bool:
    if value is None or value is UNDEFINED:
        return False
    if isinstance(value, bool):
        return value
    if _is_number(value):
        return bool(value != 0 and not math.isnan(value))  # NaN and 0 are falsy
    if isinstance(value, str):
        return value != ""
    return True


def _is_empty(value: Any) -> bool:
    """Handlebars' Utils.isEmpty: falsy but not 0, or an empty array."""
    if isinstance(value, list):
        return not value
    return not _truthy(value) and not (_is_number(value) and value == 0)


def _utf16_units(text: str) -> list[str]:
    units: list[str] = []
    for char in text:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            units += [chr(0xD800 + (code >> 10)), chr(0xDC00 + (code & 0x3FF))]
        else:
            units.append(char)
    return units


def _own(parent: Any, name: str) -> tuple[bool, Any]:
    """(True, parent[name]) when `name` is an own property of `parent`, else (False, undefined)."""
    if isinstance(parent, dict):
        return (True, parent[name]) if name in parent else (False, UNDEFINED)
    if isinstance(parent, list | str):
        items: list[Any] | list[str] = parent if isinstance(parent, list) else _utf16_units(parent)
        if name == "length":
            return True, len(items)
        if _ARRAY_INDEX.fullmatch(name) and int(name) < len(items):
            return True, items[int(name)]
    return False, UNDEFINED


def _lookup(parent: Any, name: str) -> Any:
    """Handlebars' container.lookupProperty (own properties only); reading from null/undefined throws."""
    if parent is None or parent is UNDEFINED:
        raise MissingVariableError(f"Cannot read properties of {js_string_repr(parent)} (reading '{name}')")
    return _own(parent, name)[1]


def _strict(parent: Any, name: str) -> Any:
    """Handlebars' container.strict: the property must exist (`name in parent`), else the render fails."""
    if not _truthy(parent):
        raise MissingVariableError(f'"{name}" not defined in {js_string_repr(parent)}')
    if not _is_object(parent):
        if not isinstance(parent, str | int | float):  # @partial-block, a function: `in` works on it
            raise MissingVariableError(f'"{name}" not defined in {parent!r}')
        raise MissingVariableError(f"Cannot use 'in' operator to search for '{name}' in {js_string(parent)}")
    present, value = _own(parent, name)
    inherited = _ARRAY_PROTO if isinstance(parent, list) else _OBJECT_PROTO
    if not present and name not in inherited:
        raise MissingVariableError(f'"{name}" not defined in {js_string_repr(parent)}')
    return value


def js_string_repr(value: Any) -> str:
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    return js_string(value)


_JS_NUMBER = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")


def _to_number(value: Any) -> float:
    """JavaScript's ToNumber for JSON values."""
    if value is None or isinstance(value, bool) or _is_number(value):
        return float(value or 0)
    if isinstance(value, str):
        return _string_to_number(value.strip(_JS_WS_CHARS))
    return math.nan


def _string_to_number(text: str) -> float:
    if not text:
        return 0.0
    if _JS_NUMBER.fullmatch(text):
        return float(text)  # Python reads JavaScript's decimal forms, "Infinity" included, as they are
    bases = {"0x": 16, "0o": 8, "0b": 2}
    base = bases.get(text[:2].lower())
    if base is None:
        return math.nan
    try:
        return float(int(text[2:], base))
    except ValueError:
        return math.nan


_JS_WS_CHARS = (
    "".join(
        chr(c) for c in [9, 10, 11, 12, 13, 32, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F]
    )
    + "\u205f\u3000\ufeff"
)


def _loose_equal(a: Any, b: Any) -> bool:
    """JavaScript's `a == b` for JSON values."""
    a_nullish, b_nullish = a is None or a is UNDEFINED, b is None or b is UNDEFINED
    if a_nullish or b_nullish:
        return a_nullish and b_nullish
    if _is_object(a) and _is_object(b):
        return a is b
    if _is_object(a):
        return _loose_equal(js_string(a), b)
    if _is_object(b):
        return _loose_equal(a, js_string(b))
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return _to_number(a) == _to_number(b)


def _object_keys(obj: dict[str, Any]) -> list[str]:
    """Object.keys order: array-index keys ascending, then the others in insertion order."""
    indexes = [k for k in obj if _ARRAY_INDEX.fullmatch(k) and int(k) < 2**32 - 1]
    indexes.sort(key=int)
    index_set = set(indexes)
    return indexes + [k for k in obj if k not in index_set]


def utf8_safe(text: str) -> str:
    """The text that UTF-8 carries of a JavaScript string: what Handlebars.js's output becomes when sent.

    JavaScript indexes a string by UTF-16 unit, so `{{lookup s 1}}` on "a😀b" gives half of the emoji, a
    lone surrogate, which no UTF-8 text holds: an encoder (TextEncoder, Node's Buffer) writes U+FFFD for
    it. Two halves printed side by side make the emoji again, as they do in the JavaScript string.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")  # in C: faster than a regular expression that looks for a surrogate
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
