"""Fault injection's model: the installed rules, the decision for each request, and counts of what fired.

:mod:`airbricks.workspace.faults.rules` says what a rule is; the ASGI middleware
(:mod:`airbricks.workspace.server.middleware`) applies an HTTP decision to the connection; model rules are handed to
the cluster model, which fires them and reports back through :meth:`Faults.count`. :meth:`Faults.match` is
called for every request, so it is a single attribute test when there are no HTTP rules. Random decisions
come from one seeded :class:`random.Random` (``seed``), so a chaos run can be replayed. Admin endpoints
(``/api/2.0/airbricks/...``) are never faulted: a test must always be able to clear rules.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter, deque
from typing import Any
from urllib.parse import parse_qsl

from airbricks.workspace.compute.clusters import Clusters
from airbricks.workspace.faults.rules import (
    ADMIN_PREFIX,
    CLUSTER_DEATH,
    CLUSTER_LAUNCH_FAILURE,
    HTTP,
    LAUNCH_FAILURE_CODES,
    SLOW_CLUSTER_START,
    Rule,
    validate_rule,
)
from airbricks.workspace.shared import Shared

#: Request fields a fault hit record keeps: what the request is about, nothing else.
IDENTIFYING_FIELDS = ("cluster_id", "run_id", "job_id", "path")


class Faults:
    """The fault rules of one workspace, and counts of what they injected."""

    def __init__(self, shared: Shared, clusters: Clusters) -> None:
        self.shared = shared
        self.clusters = clusters
        self._lock = threading.Lock()
        self._next_id = 1
        self.rules: list[Rule] = []
        #: HTTP rules only; empty means :meth:`match` costs one attribute read.
        self._http: list[Rule] = []
        #: Injected faults by kind (``http_429``, ``drop``, ``latency``, ``cluster_launch_failure``, ...).
        self.injected: Counter[str] = Counter()
        self.seed = shared.config.fault_seed
        self.random = random.Random(self.seed)
        #: ``cluster_death`` rules without a cluster id wait here for the next cluster a run lands on.
        self.pending_deaths: list[Rule] = []
        self._configured = list(shared.config.faults or [])
        #: The HTTP faults injected, newest last, each with the request's identifying fields (``cluster_id``,
        #: ``run_id``, ``path``), so a chaos run can tell which of its runs a fault reached.
        self.hits: deque[dict[str, Any]] = deque(maxlen=5000)

    # -- rules -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Install the rules of the configuration (at start, after the models recovered their state)."""
        if self._configured:
            self.add(self._configured)
            self._configured = []

    def add(self, specs: list[dict[str, Any]] | dict[str, Any]) -> list[str]:
        """Validate and install rules (all or none); model rules take effect now. Returns their ids."""
        items = [specs] if isinstance(specs, dict) else list(specs)
        rules = [validate_rule(spec) for spec in items]
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
            return {
                "rules": [rule.describe() for rule in self.rules],
                "injected": dict(self.injected),
                "seed": self.seed,
                "hits": list(self.hits),
            }

    # -- HTTP rules --------------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> Rule | None:
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
                return rule
        return None

    def record_hit(self, rule: Rule, method: str, path: str, query: bytes, body: bytes) -> None:
        """Note an injected HTTP fault with what identifies the request's subject (never other fields: a body
        may hold secret values)."""
        fields: dict[str, Any] = dict(parse_qsl(query.decode(errors="replace")))
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            parsed = {}
        if isinstance(parsed, dict):
            fields.update(parsed)
        subject = {k: str(fields[k]) for k in IDENTIFYING_FIELDS if k in fields}
        kind = "drop" if rule.drop else f"http_{rule.status}"
        with self._lock:
            self.hits.append({"rule_id": rule.id, "kind": kind, "method": method, "request": path, **subject})

    # -- model rules -------------------------------------------------------------------------------------

    def _apply_model_rule(self, rule: Rule) -> None:
        count = rule.remaining or 1
        if rule.kind == CLUSTER_LAUNCH_FAILURE:
            # validate_rule gave a launch failure its code and type (the defaults here are the same)
            code = rule.code or "CLOUD_PROVIDER_LAUNCH_FAILURE"
            self.clusters.fail_next_launches(count, code=code, type_=rule.type or LAUNCH_FAILURE_CODES[code])
        elif rule.kind == SLOW_CLUSTER_START:
            self.clusters.slow_next_starts(count, rule.seconds or 0.0)  # validate_rule requires seconds
        elif rule.kind == CLUSTER_DEATH:
            if rule.cluster_id:
                self.clusters.kill(rule.cluster_id, code=rule.code or "DRIVER_UNREACHABLE")
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
        while self.pending_deaths:
            victim = next(
                (
                    doc["cluster_id"]
                    for doc in self.clusters.list(states={"RUNNING"})
                    if self.clusters.is_busy(doc["cluster_id"])
                ),
                None,
            )
            if victim is None:
                return
            with self._lock:
                rule = self.pending_deaths[0]
                rule.hits += 1
                if rule.hits >= (rule.remaining or 1):
                    self.pending_deaths.pop(0)
                self.injected[CLUSTER_DEATH] += 1
            self.clusters.kill(victim, code=rule.code or "DRIVER_UNREACHABLE")
