"""Typed access to request parameters, with Databricks' leniency and its errors.

Clients send GET parameters as a query string (the provider's sync hook, the SDK) or as a JSON body (the
provider's async hook); numbers often arrive as strings. :class:`Params` accepts all of these and raises
INVALID_PARAMETER_VALUE naming the field when a value is missing or of the wrong type.
"""

from __future__ import annotations

import builtins
from typing import Any, Literal, overload

from airbricks.workspace.errors import InvalidParameterValue

_MISSING = object()


class Params:
    """A read-only view of one request's parameters (query string merged under the JSON body)."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __contains__(self, name: str) -> bool:
        return self.data.get(name) is not None

    def raw(self, name: str, default: Any = None) -> Any:
        value = self.data.get(name)
        return default if value is None else value

    def _value(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None or value == "" and required:
            if required:
                raise InvalidParameterValue(f"Missing required field: {name}")
            return _MISSING
        return value

    @overload
    def str(
        self,
        name: builtins.str,
        *,
        required: Literal[True],
        default: None = None,
        max_length: builtins.int | None = None,
    ) -> builtins.str: ...
    @overload
    def str(
        self,
        name: builtins.str,
        *,
        required: bool = False,
        default: builtins.str,
        max_length: builtins.int | None = None,
    ) -> builtins.str: ...
    @overload
    def str(
        self,
        name: builtins.str,
        *,
        required: bool = False,
        default: None = None,
        max_length: builtins.int | None = None,
    ) -> builtins.str | None: ...
    def str(
        self,
        name: builtins.str,
        *,
        required: bool = False,
        default: builtins.str | None = None,
        max_length: builtins.int | None = None,
    ) -> builtins.str | None:
        """The field as a string (numbers accepted, as clients send ids); ``required`` or a ``default`` never
        gives None, and the type says so."""
        value = self._value(name, required)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidParameterValue(f"Invalid value for field '{name}': expected a string")
        if max_length is not None and len(str(value)) > max_length:
            raise InvalidParameterValue(f"Invalid value for field '{name}': must have at most {max_length} characters")
        return str(value)

    @overload
    def int(
        self,
        name: builtins.str,
        *,
        required: Literal[True],
        default: None = None,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int: ...
    @overload
    def int(
        self,
        name: builtins.str,
        *,
        required: bool = False,
        default: builtins.int,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int: ...
    @overload
    def int(
        self,
        name: builtins.str,
        *,
        required: bool = False,
        default: None = None,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int | None: ...
    def int(
        self,
        name: builtins.str,
        *,
        required: bool = False,
        default: builtins.int | None = None,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int | None:
        """The field as an integer (numeric strings accepted), within ``minimum``/``maximum``."""
        value = self._value(name, required)
        if value is _MISSING:
            return default
        result = to_int(value, name)
        if minimum is not None and result < minimum:
            raise InvalidParameterValue(f"Invalid value for field '{name}': must be at least {minimum}")
        if maximum is not None and result > maximum:
            raise InvalidParameterValue(f"Invalid value for field '{name}': must be at most {maximum}")
        return result

    def bool(self, name: builtins.str, *, default: builtins.bool = False) -> builtins.bool:
        value = self._value(name, False)
        if value is _MISSING:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidParameterValue(f"Invalid value for field '{name}': expected true or false")

    def dict(self, name: builtins.str, *, required: builtins.bool = False) -> builtins.dict[builtins.str, Any] | None:
        value = self._value(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            raise InvalidParameterValue(f"Invalid value for field '{name}': expected an object")
        return value

    def list(self, name: builtins.str, *, required: builtins.bool = False) -> builtins.list[Any] | None:
        value = self._value(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            raise InvalidParameterValue(f"Invalid value for field '{name}': expected an array")
        return value


def to_int(value: Any, name: str) -> int:
    """An integer from an int or a decimal string; bools and floats with fractions are refused."""
    if isinstance(value, bool):
        raise InvalidParameterValue(f"Invalid value for field '{name}': expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    raise InvalidParameterValue(f"Invalid value for field '{name}': expected an integer, got {value!r}"[:300])


def section(spec: dict[str, Any], name: str) -> Params:
    """Params over a nested object (e.g. ``notebook_task`` inside a task), field names prefixed in errors."""
    value = spec.get(name)
    if value is None:
        return Params({})
    if not isinstance(value, dict):
        raise InvalidParameterValue(f"Invalid value for field '{name}': expected an object")
    return Params(value)


#: Fields the Jobs and Clusters APIs define as numbers. Clients such as the provider's operators send them as
#: strings ("3"); the real service stores and returns numbers, and the SDK expects numbers back.
NUMERIC_FIELDS = frozenset(
    {
        "max_concurrent_runs",
        "timeout_seconds",
        "max_retries",
        "min_retry_interval_millis",
        "num_workers",
        "min_workers",
        "max_workers",
        "autotermination_minutes",
        "job_id",
    }
)


def coerce_numbers(value: Any, key: str = "") -> Any:
    """A copy of a JSON document with the :data:`NUMERIC_FIELDS` that arrived as strings made integers.

    A string that is not a number is refused naming the field (never stored as is, never a 500 later).
    """
    if isinstance(value, dict):
        return {k: coerce_numbers(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [coerce_numbers(v, key) for v in value]
    if key in NUMERIC_FIELDS and isinstance(value, str):
        return to_int(value, key)
    return value
