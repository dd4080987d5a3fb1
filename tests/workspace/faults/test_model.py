"""The fault model without HTTP: which request a rule hits, seeded probability, model rules on clusters."""

from __future__ import annotations

import pytest
from tests.workspace.model_kit import SPEC, START_MS

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue


def test_http_rules_match_by_path_suffix_method_and_count(ws: Workspace) -> None:
    ws.faults.add({"path": "clusters/get", "method": "GET", "status": 429, "count": 2})
    assert ws.faults.match("POST", "/api/2.1/clusters/get") is None
    hits = [ws.faults.match("GET", f"/api/{v}/clusters/get") for v in ("2.0", "2.1", "2.1")]
    assert [rule is not None for rule in hits] == [True, True, False]
    assert hits[0].error("/api/2.0/clusters/get").error_code == "REQUEST_LIMIT_EXCEEDED"
    assert ws.faults.match("GET", "/api/2.0/airbricks/faults") is None  # the admin API is never faulted
    assert ws.faults.describe()["injected"] == {"http_429": 2}


def test_probability_is_replayable_with_a_seed(ws: Workspace) -> None:
    def decisions() -> list[bool]:
        ws.faults.clear()
        ws.faults.set_seed(7)
        ws.faults.add({"path": "*", "status": 503, "probability": 0.5})
        return [ws.faults.match("GET", "/api/2.0/dbfs/list") is not None for _ in range(40)]

    first = decisions()
    assert first == decisions() and 5 < sum(first) < 35


def test_a_pending_cluster_death_strikes_the_first_busy_running_cluster(ws: Workspace) -> None:
    idle = ws.clusters.create(dict(SPEC))
    busy = ws.clusters.create(dict(SPEC))
    ws.step(START_MS)
    ws.faults.add({"kind": "cluster_death"})
    ws.step(10)
    assert ws.clusters.state(idle) == ws.clusters.state(busy) == "RUNNING"  # nothing runs on either yet
    ws.clusters.is_busy = lambda cluster_id: cluster_id == busy
    ws.step(10)
    assert ws.clusters.state(busy) == "TERMINATED" and ws.clusters.state(idle) == "RUNNING"
    assert ws.faults.describe()["injected"] == {"cluster_death": 1}


def test_a_launch_failure_rule_counts_when_it_fires(ws: Workspace) -> None:
    [rule_id] = ws.faults.add({"kind": "cluster_launch_failure", "count": 1})
    cid = ws.clusters.create(dict(SPEC))
    ws.step(START_MS)
    assert ws.clusters.get(cid)["termination_reason"]["code"] == "CLOUD_PROVIDER_LAUNCH_FAILURE"
    described = ws.faults.describe()
    assert described["injected"] == {"cluster_launch_failure": 1}
    assert next(r for r in described["rules"] if r["id"] == rule_id)["hits"] == 1


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"path": "x"}, "needs at least one of 'status', 'drop' or 'latency_ms'"),
        ({"status": 503, "probability": 2}, "must be between 0 and 1"),
        ({"kind": "meteor"}, "Invalid value for field 'kind'"),
        ({"status": 503, "colour": "red"}, "Unknown fault rule field"),
        ({"kind": "slow_cluster_start"}, "needs 'seconds'"),
    ],
)
def test_bad_rules_are_refused_whole(ws: Workspace, rule: dict, message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        ws.faults.add([{"status": 500}, rule])
    assert ws.faults.describe()["rules"] == []
