"""Fault injection: rules that make the local workspace misbehave the way the real service does.

Two families of rules, both plain dicts (from ``airbricks serve --fault``, ``WorkspaceConfig.faults`` or
``POST /api/2.0/airbricks/faults``):

* HTTP rules (``kind`` omitted or ``"http"``) match a request by ``path`` and ``method`` and then add
  ``latency_ms``, answer ``status`` with the real Databricks error body (``Retry-After`` from
  ``retry_after``), or ``drop`` the connection without an answer. ``probability`` (0..1) and ``count`` (the
  next N matching requests) bound how often. :meth:`Faults.match` is called for every request, so it is a
  single attribute test when there are no HTTP rules.
* Model rules act on the cluster model directly: ``cluster_launch_failure`` (the next ``count`` launches end
  TERMINATED with ``code``), ``cluster_death`` (kill ``cluster_id`` now, or the next cluster a run lands on)
  and ``slow_cluster_start`` (the next ``count`` launches take ``seconds`` to start).

Random decisions come from one seeded :class:`random.Random` (``seed``), so a chaos run can be replayed.
Admin endpoints (``/api/2.0/airbricks/...``) are never faulted: a test must always be able to clear rules.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

from airbricks.workspace.errors import DatabricksError, InvalidParameterValue, error_for_code
from airbricks.workspace.params import Params

if TYPE_CHECKING:
    from airbricks.workspace.core import Workspace

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
    429: ("REQUEST_LIMIT_EXCEEDED",
          "Your request was rejected since your organization has exceeded the rate limit. "
          "Please retry your request later."),
    500: ("INTERNAL_ERROR", "Internal error occurred while processing the request. Please try again later."),
    502: ("BAD_GATEWAY", "Bad gateway: the service at {path} did not answer. Please try again later."),
    503: ("TEMPORARILY_UNAVAILABLE", "The service at {path} is temporarily unavailable. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request to {path} timed out. Please try again later."),
}

_FIELDS = {
    "id", "kind", "path", "method", "status", "error_code", "message", "retry_after", "probability", "count",
    "latency_ms", "drop", "cluster_id", "code", "type", "seconds",
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
        raise InvalidParameterValue(f"Invalid value for field 'path': not a valid regular expression ({exc})")
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
            code = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                    404: "RESOURCE_DOES_NOT_EXIST", 409: "RESOURCE_CONFLICT"}.get(self.status, "INTERNAL_ERROR")
            message = f"Request to {path} failed with status {self.status}."
        err = error_for_code(self.error_code or code, self.message or message.format(path=path), self.status)
        if self.retry_after is not None:
            err.headers = {"Retry-After": str(self.retry_after)}
        return err


def parse_rule_text(text: str) -> dict[str, Any]:
    """A rule from the command line: compact JSON, or ``key=value,key=value`` with numbers and booleans."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"invalid JSON fault rule {text!r}: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError(f"a fault rule must be a JSON object, got {text!r}")
        return value
    rule: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"expected key=value in fault rule, got {item!r}")
        rule[key.strip()] = _scalar(raw.strip())
    return rule


def _scalar(raw: str) -> Any:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


class Injection:
    """What one matching request gets: the decision is taken in :meth:`Faults.match`, the effect here."""

    __slots__ = ("rule", "path")

    def __init__(self, rule: Rule, path: str) -> None:
        self.rule = rule
        self.path = path

    async def apply(self, scope: dict[str, Any], receive: Any, send: Any) -> bool:
        """Delay, then answer with the error or drop; False lets the request through (latency only)."""
        rule = self.rule
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.drop:
            await _drop_connection(send)
            return True
        if rule.status is not None:
            err = rule.error(self.path)
            response = JSONResponse(err.body(), status_code=err.status_code, headers=err.headers or None)
            await response(scope, receive, send)
            return True
        return False


def _find_transport(send: Any, depth: int = 0) -> Any:
    """The server's transport behind ``send``: uvicorn's ``send`` is a bound method of the request cycle,
    wrapped in closures by Starlette's outer middleware. ASGI offers no way to drop a connection, so we
    follow the wrappers to the socket."""
    if depth > 6 or send is None:
        return None
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        return transport
    for cell in getattr(send, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if callable(value):
            found = _find_transport(value, depth + 1)
            if found is not None:
                return found
    return None


async def _drop_connection(send: Any) -> None:
    """Reset the TCP connection (SO_LINGER 0, then abort): the client sees a reset or an empty reply."""
    transport = _find_transport(send)
    if transport is None:
        raise ConnectionAbortedError("airbricks fault: dropping the connection (no transport found)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()
    for _ in range(3):  # let connection_lost run so the server does not try to answer a closed socket
        await asyncio.sleep(0)


class Faults:
    """The fault rules of one workspace, and counts of what they injected."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._lock = threading.Lock()
        self._next_id = 1
        self.rules: list[Rule] = []
        #: HTTP rules only; empty means :meth:`match` costs one attribute read.
        self._http: list[Rule] = []
        #: Injected faults by kind (``http_429``, ``drop``, ``latency``, ``cluster_launch_failure``, ...).
        self.injected: Counter[str] = Counter()
        self.seed = getattr(workspace.config, "fault_seed", None)
        self.random = random.Random(self.seed)
        #: ``cluster_death`` rules without a cluster id wait here for the next cluster a run lands on.
        self.pending_deaths: list[Rule] = []
        self._configured = list(workspace.config.faults or [])

    # -- rules -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Install the rules of the configuration (model rules need the models, built after us)."""
        if self._configured:
            self.add(self._configured)
            self._configured = []

    def add(self, specs: list[dict[str, Any]] | dict[str, Any]) -> list[str]:
        """Validate and install rules (all or none); model rules take effect now. Returns their ids."""
        items = [specs] if isinstance(specs, dict) else list(specs)
        rules = [self._validate(spec) for spec in items]
        with self._lock:
            for rule in rules:
                rule.id = rule.id or f"fault-{self._next_id}"
                self._next_id += 1
        for rule in rules:
            if rule.kind == HTTP:
                with self._lock:
                    self.rules.append(rule)
                    self._http = [*self._http, rule]
            else:
                self._apply_model_rule(rule)
                with self._lock:
                    self.rules.append(rule)
        return [rule.id for rule in rules]

    def clear(self) -> None:
        with self._lock:
            self.rules = []
            self._http = []
            self.pending_deaths = []

    def set_seed(self, seed: int | None) -> None:
        with self._lock:
            self.seed = seed
            self.random = random.Random(seed)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"rules": [rule.describe() for rule in self.rules], "injected": dict(self.injected),
                    "seed": self.seed}

    def _validate(self, spec: Any) -> Rule:
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
            raise InvalidParameterValue("Invalid value for field 'probability': expected a number from 0 to 1")
        if not 0.0 <= probability <= 1.0:
            raise InvalidParameterValue("Invalid value for field 'probability': must be between 0 and 1")
        rule = Rule(
            id=p.str("id") or "", kind=kind, path=p.str("path"),
            method=(p.str("method") or "").upper() or None,
            status=p.int("status", minimum=400, maximum=599), error_code=p.str("error_code"),
            message=p.str("message"), retry_after=p.int("retry_after", minimum=0), probability=probability,
            remaining=p.int("count", minimum=1), latency_ms=float(p.int("latency_ms", minimum=0, default=0) or 0),
            drop=p.bool("drop"), cluster_id=p.str("cluster_id"), code=p.str("code"), type=p.str("type"),
        )
        seconds = spec.get("seconds")
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                raise InvalidParameterValue("Invalid value for field 'seconds': expected a number of seconds >= 0")
            rule.seconds = float(seconds)
        if kind == HTTP:
            if rule.status is None and not rule.drop and not rule.latency_ms:
                raise InvalidParameterValue(
                    "A fault rule needs at least one of 'status', 'drop' or 'latency_ms' (or a model 'kind')")
            rule.matches = _path_matcher(rule.path)
        elif kind == CLUSTER_LAUNCH_FAILURE:
            rule.code = rule.code or "CLOUD_PROVIDER_LAUNCH_FAILURE"
            if rule.code not in LAUNCH_FAILURE_CODES:
                raise InvalidParameterValue(
                    f"Invalid value for field 'code': {rule.code!r}; expected one of {list(LAUNCH_FAILURE_CODES)}")
            rule.type = rule.type or LAUNCH_FAILURE_CODES[rule.code]
        elif kind == SLOW_CLUSTER_START and rule.seconds is None:
            raise InvalidParameterValue("A slow_cluster_start rule needs 'seconds' (the start duration)")
        return rule

    # -- HTTP rules --------------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> Injection | None:
        """The fault to inject into this request, if any (the first rule that matches and fires)."""
        if not self._http or path.startswith(ADMIN_PREFIX):
            return None
        with self._lock:
            for rule in self._http:
                if rule.remaining == 0 or (rule.method and rule.method != method) or not rule.matches(path):
                    continue
                if rule.probability < 1.0 and self.random.random() >= rule.probability:
                    continue
                rule.hits += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                if rule.latency_ms:
                    self.injected["latency"] += 1
                if rule.drop:
                    self.injected["drop"] += 1
                elif rule.status is not None:
                    self.injected[f"http_{rule.status}"] += 1
                return Injection(rule, path)
        return None

    # -- model rules -------------------------------------------------------------------------------------

    def _apply_model_rule(self, rule: Rule) -> None:
        clusters = self.workspace.clusters
        count = rule.remaining or 1
        with self.workspace.lock:
            if rule.kind == CLUSTER_LAUNCH_FAILURE:
                clusters.fail_next_launches(count, code=rule.code, type_=rule.type)
            elif rule.kind == SLOW_CLUSTER_START:
                clusters.slow_next_starts(count, rule.seconds)
            elif rule.kind == CLUSTER_DEATH:
                if rule.cluster_id:
                    clusters.kill(rule.cluster_id, code=rule.code or "DRIVER_UNREACHABLE")
                    rule.hits += 1
                    self.count(CLUSTER_DEATH)
                else:
                    with self._lock:
                        self.pending_deaths.append(rule)

    def count(self, kind: str) -> None:
        """Record one injected fault of ``kind``: the models call this when an armed fault fires."""
        with self._lock:
            self.injected[kind] += 1
            for rule in self.rules:
                if rule.kind == kind and rule.hits < (rule.remaining or 1):
                    rule.hits += 1
                    break

    def tick(self, now_ms: int) -> None:
        """Pending ``cluster_death`` rules kill the first running cluster that has a run on it."""
        if not self.pending_deaths:
            return
        is_busy = getattr(self.workspace.jobs, "is_cluster_busy", None)
        if is_busy is None:
            return
        for doc in self.workspace.clusters.list_clusters(states={"RUNNING"}):
            if not self.pending_deaths:
                return
            if not is_busy(doc["cluster_id"]):
                continue
            with self._lock:
                rule = self.pending_deaths[0]
                rule.hits += 1
                if rule.hits >= (rule.remaining or 1):
                    self.pending_deaths.pop(0)
                self.injected[CLUSTER_DEATH] += 1
            self.workspace.clusters.kill(doc["cluster_id"], code=rule.code or "DRIVER_UNREACHABLE")
