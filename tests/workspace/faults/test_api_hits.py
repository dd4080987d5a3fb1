"""Each injected HTTP fault is recorded with its request's subject, so a chaos run can label runs exactly.

The record keeps only identifying fields (``cluster_id``, ``run_id``, ``job_id``, ``path``), from the query
string (the provider's sync GETs) or the JSON body (its async GETs and every POST), never other fields.
"""

from __future__ import annotations

import requests

FAULTS = "/api/2.0/airbricks/faults"


def _auth(ws) -> dict[str, str]:
    return {"Authorization": f"Bearer {ws.token}"}


def test_a_fault_hit_names_the_cluster_run_or_path_it_answered(local_ws, add_faults):
    before = len(requests.get(local_ws.url + FAULTS, headers=_auth(local_ws), timeout=10).json()["hits"])
    add_faults(
        {"path": "clusters/get", "method": "GET", "status": 429, "retry_after": 1, "count": 2},
        {"path": "secrets/put", "method": "POST", "status": 503, "count": 1},
    )
    by_query = requests.get(
        local_ws.url + "/api/2.1/clusters/get", params={"cluster_id": "0101-q"}, headers=_auth(local_ws), timeout=10
    )
    by_body = requests.get(
        local_ws.url + "/api/2.1/clusters/get", json={"cluster_id": "0101-b"}, headers=_auth(local_ws), timeout=10
    )
    secret = requests.post(
        local_ws.url + "/api/2.0/secrets/put",
        headers=_auth(local_ws),
        timeout=10,
        json={"scope": "s", "key": "k", "string_value": "hunter2-not-recorded"},
    )
    assert [r.status_code for r in (by_query, by_body, secret)] == [429, 429, 503]

    hits = requests.get(local_ws.url + FAULTS, headers=_auth(local_ws), timeout=10).json()["hits"][before:]
    assert [(h["kind"], h["request"], h.get("cluster_id")) for h in hits] == [
        ("http_429", "/api/2.1/clusters/get", "0101-q"),
        ("http_429", "/api/2.1/clusters/get", "0101-b"),
        ("http_503", "/api/2.0/secrets/put", None),
    ]
    assert "hunter2-not-recorded" not in str(hits)
    ok = requests.get(
        local_ws.url + "/api/2.0/dbfs/get-status", params={"path": "/"}, headers=_auth(local_ws), timeout=10
    )
    assert ok.status_code == 200  # the body read for the record does not touch requests that pass through
