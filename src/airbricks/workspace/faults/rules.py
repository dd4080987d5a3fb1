"""Fault rules: what they are, how they are validated, and what error an HTTP rule answers with.

Rules are plain dicts (from ``airbricks serve --fault``, ``WorkspaceConfig.faults`` or
``POST /api/2.0/airbricks/faults``). HTTP rules (``kind`` omitted or ``"http"``) match a request by ``path``
and ``method`` and then add ``latency_ms``, answer ``status`` with the real Databricks error body
(``Retry-After`` from ``retry_after``), or ``drop`` the connection. Model rules act on clusters:
``cluster_launch_failure``, ``cluster_death`` and ``slow_cluster_start``. ``probability`` (0..1) and
``count`` (the next N) bound how often.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airbricks.workspace.errors import DatabricksError, InvalidParameterValue, error_for_code
from airbricks.workspace.params import Params

#: Requests under this prefix are the fault endpoints themselves; they are never faulted.
ADMIN_PREFIX = "/api/2.0/airbricks/"

HTTP = "http"
CLUSTER_LAUNCH_FAILURE = "cluster_launch_failure"
CLUSTER_DEATH = "cluster_death"
SLOW_CLUSTER_START = "slow_cluster_start"
KINDS = (HTTP, CLUSTER_LAUNCH_FAILURE, CLUSTER_DEATH, SLOW_CLUSTER_START)

#: Termination codes a launch failure may use, with the termination ``type`` the real service pairs them with.
LAUNCH_FAILURE_CODES = {"CLOUD_PROVIDER_LAUNCH_FAILURE": "CLOUD_FAILURE", "CLOUD_FAILURE": "CLOUD_FAILURE"}

#: What the real service answers for each status when a rule gives no ``error_code``/``message``.
#: ``{path}`` is the request path.
DEFAULT_ERRORS: dict[int, tuple[str, str]] = {
    429: (
        "REQUEST_LIMIT_EXCEEDED",
        "Your request was rejected since your organization has exceeded the rate limit. "
        "Please retry your request later.",
    ),
    500: ("INTERNAL_ERROR", "Internal error occurred while processing the request. Please try again later."),
    502: ("BAD_GATEWAY", "Bad gateway: the service at {path} did not answer. Please try again later."),
    503: ("TEMPORARILY_UNAVAILABLE", "The service at {path} is temporarily unavailable. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request to {path} timed out. Please try again later."),
}

_FIELDS = {
    "id",
    "kind",
    "path",
    "method",
    "status",
    "error_code",
    "message",
    "retry_after",
    "probability",
    "count",
    "latency_ms",
    "drop",
    "cluster_id",
    "code",
    "type",
    "seconds",
}
_REGEX_ONLY = set("^$()|+{}\\")


def _path_matcher(pattern: str | None) -> Callable[[str], bool]:
    """``re:<regex>`` or anything with regex-only characters: searched; ``*?[``: a glob; else a literal.

    A glob or literal not starting with ``/`` matches the end of the path, so ``clusters/get`` matches both
    ``/api/2.0/clusters/get`` and ``/api/2.1/clusters/get``.
    """
    if pattern in (None, "", "*"):
        return lambda _path: True
    assert pattern is not None
    try:
        if pattern.startswith("re:") or _REGEX_ONLY & set(pattern):
            regex = re.compile(pattern.removeprefix("re:"))
            return lambda path: regex.search(path) is not None
    except re.error as exc:
        raise InvalidParameterValue(f"Invalid value for field 'path': not a valid regular expression ({exc})") from None
    glob = pattern.removeprefix("glob:")
    if not glob.startswith("/"):
        glob = "*" + glob
    if set("*?[") & set(glob):
        regex = re.compile(fnmatch.translate(glob))
        return lambda path: regex.match(path) is not None
    return lambda path: path == glob


@dataclass
class Rule:
    """One fault rule, validated; ``remaining`` is None for rules without a ``count``."""

    id: str
    kind: str = HTTP
    path: str | None = None
    method: str | None = None
    status: int | None = None
    error_code: str | None = None
    message: str | None = None
    retry_after: int | None = None
    probability: float = 1.0
    remaining: int | None = None
    latency_ms: float = 0.0
    drop: bool = False
    cluster_id: str | None = None
    code: str | None = None
    type: str | None = None
    seconds: float | None = None
    hits: int = 0
    matches: Callable[[str], bool] = field(default=lambda _path: True, repr=False)

    def describe(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "matches" and v is not None and v is not False}
        out["hits"] = self.hits
        return out

    def error(self, path: str) -> DatabricksError:
        assert self.status is not None
        code, message = DEFAULT_ERRORS.get(self.status, ("", ""))
        if not code:
            code = {
                400: "INVALID_PARAMETER_VALUE",
                401: "UNAUTHENTICATED",
                403: "PERMISSION_DENIED",
                404: "RESOURCE_DOES_NOT_EXIST",
                409: "RESOURCE_CONFLICT",
            }.get(self.status, "INTERNAL_ERROR")
            message = f"Request to {path} failed with status {self.status}."
        err = error_for_code(self.error_code or code, self.message or message.format(path=path), self.status)
        if self.retry_after is not None:
            err.headers = {"Retry-After": str(self.retry_after)}
        return err


def validate_rule(spec: Any) -> Rule:
    """A rule from its JSON form; INVALID_PARAMETER_VALUE naming the field for anything wrong."""
    if not isinstance(spec, dict):
        raise InvalidParameterValue("Invalid value for field 'rules': each fault rule must be an object")
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        raise InvalidParameterValue(f"Unknown fault rule field(s) {unknown}; known fields: {sorted(_FIELDS)}")
    p = Params(spec)
    kind = p.str("kind", default=HTTP) or HTTP
    if kind not in KINDS:
        raise InvalidParameterValue(f"Invalid value for field 'kind': {kind!r}; expected one of {list(KINDS)}")
    probability = spec.get("probability", 1.0)
    if isinstance(probability, bool) or not isinstance(probability, (int, float, str)):
        raise InvalidParameterValue("Invalid value for field 'probability': expected a number from 0 to 1")
    try:
        probability = float(probability)
    except ValueError:
        raise InvalidParameterValue("Invalid value for field 'probability': expected a number from 0 to 1") from None
    if not 0.0 <= probability <= 1.0:
        raise InvalidParameterValue("Invalid value for field 'probability': must be between 0 and 1")
    rule = Rule(
        id=p.str("id") or "",
        kind=kind,
        path=p.str("path"),
        method=(p.str("method") or "").upper() or None,
        status=p.int("status", minimum=400, maximum=599),
        error_code=p.str("error_code"),
        message=p.str("message"),
        retry_after=p.int("retry_after", minimum=0),
        probability=probability,
        remaining=p.int("count", minimum=1),
        latency_ms=float(p.int("latency_ms", minimum=0, default=0) or 0),
        drop=p.bool("drop"),
        cluster_id=p.str("cluster_id"),
        code=p.str("code"),
        type=p.str("type"),
    )
    seconds = spec.get("seconds")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise InvalidParameterValue("Invalid value for field 'seconds': expected a number of seconds >= 0")
        rule.seconds = float(seconds)
    if kind == HTTP:
        if rule.status is None and not rule.drop and not rule.latency_ms:
            raise InvalidParameterValue(
                "A fault rule needs at least one of 'status', 'drop' or 'latency_ms' (or a model 'kind')"
            )
        rule.matches = _path_matcher(rule.path)
    elif kind == CLUSTER_LAUNCH_FAILURE:
        rule.code = rule.code or "CLOUD_PROVIDER_LAUNCH_FAILURE"
        if rule.code not in LAUNCH_FAILURE_CODES:
            raise InvalidParameterValue(
                f"Invalid value for field 'code': {rule.code!r}; expected one of {list(LAUNCH_FAILURE_CODES)}"
            )
        rule.type = rule.type or LAUNCH_FAILURE_CODES[rule.code]
    elif kind == SLOW_CLUSTER_START and rule.seconds is None:
        raise InvalidParameterValue("A slow_cluster_start rule needs 'seconds' (the start duration)")
    return rule
