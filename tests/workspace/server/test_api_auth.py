"""Authentication: every call needs the workspace's token (Bearer, or Basic with the token as password);
401 answers have Databricks' error shape; the token is kept 0600 and never leaks into logs or error bodies."""

from __future__ import annotations

import base64
import stat

import pytest
import requests

AUTHED = "/api/2.1/clusters/list"


def _err(resp: requests.Response) -> dict:
    body = resp.json()
    assert set(body) >= {"error_code", "message"}, body
    return body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer dapi-wrong-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic " + base64.b64encode(b"token:dapi-wrong-token").decode()},
        {"Authorization": "Basic not-base64!!"},
        {"Authorization": "Token abc"},
    ],
    ids=["none", "wrong-bearer", "empty-bearer", "wrong-basic", "garbled-basic", "other-scheme"],
)
def test_missing_or_wrong_token_is_401_in_databricks_shape(local_ws, headers):
    resp = requests.get(local_ws.url + AUTHED, headers=headers, timeout=10)
    assert resp.status_code == 401
    body = _err(resp)
    assert body["error_code"] == "UNAUTHENTICATED"
    assert "token" in body["message"].lower()
    assert local_ws.token not in resp.text


def test_unauthenticated_post_and_unknown_path_are_401_not_404(local_ws):
    """Auth is checked before routing: an unknown endpoint does not reveal itself without a token."""
    for method, path in [("POST", "/api/2.1/clusters/create"), ("GET", "/api/2.0/no/such/endpoint")]:
        resp = requests.request(method, local_ws.url + path, json={"cluster_name": "x"}, timeout=10)
        assert resp.status_code == 401, (method, path, resp.text)
        assert _err(resp)["error_code"] == "UNAUTHENTICATED"


def test_bearer_and_basic_with_token_as_password_work(local_ws):
    bearer = requests.get(local_ws.url + AUTHED, headers={"Authorization": f"Bearer {local_ws.token}"}, timeout=10)
    assert bearer.status_code == 200, bearer.text
    basic = requests.get(local_ws.url + AUTHED, auth=("token", local_ws.token), timeout=10)
    assert basic.status_code == 200, basic.text
    assert basic.json() == bearer.json()
    any_user = requests.get(local_ws.url + AUTHED, auth=("someone@example.com", local_ws.token), timeout=10)
    assert any_user.status_code == 200


def test_sdk_with_wrong_token_raises_unauthenticated(local_ws):
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import Unauthenticated

    client = WorkspaceClient(host=local_ws.url, token="dapi-not-the-token", auth_type="pat")
    with pytest.raises(Unauthenticated) as err:
        list(client.clusters.list())
    assert "dapi-not-the-token" not in str(err.value)
    assert local_ws.token not in str(err.value)


def test_well_known_config_needs_no_token_and_the_sdk_accepts_the_server(local_ws, sdk):
    resp = requests.get(local_ws.url + "/.well-known/databricks-config", timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["workspace_id"].isdigit()
    assert body["oidc_endpoint"].startswith(local_ws.url)
    assert local_ws.token not in resp.text
    # a real client, configured only with host and token, authenticates and calls the API
    sdk.config.authenticate()
    assert sdk.config.host == local_ws.url
    assert isinstance(list(sdk.clusters.list()), list)
    assert sdk.dbfs.get_status("/").is_dir


def test_token_file_is_0600_created_once_and_reused(tmp_path):
    from airbricks.workspace.server.serve import LocalWorkspace

    data = tmp_path / "ws"
    with LocalWorkspace(data) as first:
        token = first.token
        assert (
            requests.get(first.url + AUTHED, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code
            == 200
        )
    token_file = data / "token"
    assert token_file.read_text().strip() == token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token.startswith("dapi") and len(token) >= 36
    with LocalWorkspace(data) as second:
        assert second.token == token
        assert (
            requests.get(second.url + AUTHED, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code
            == 200
        )
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    with LocalWorkspace(tmp_path / "other") as other:  # another data dir gets another token
        assert other.token != token


def test_explicit_token_is_required_and_not_written(tmp_path, serve_process):
    data = tmp_path / "ws"
    server = serve_process(data, "--token", "dapi-fixed-token-for-tests")
    ok = requests.get(server.url + AUTHED, headers={"Authorization": "Bearer dapi-fixed-token-for-tests"}, timeout=10)
    assert ok.status_code == 200
    assert requests.get(server.url + AUTHED, timeout=10).status_code == 401
    assert not (data / "token").exists()


def test_token_never_in_server_log_or_error_bodies(tmp_path, serve_process):
    """A session of calls (good, failing, unauthenticated, malformed) leaves no token in server.log or answers."""
    data = tmp_path / "ws"
    server = serve_process(data, "--cluster-start-seconds", "0.2", "--cluster-stop-seconds", "0.1")
    token = (data / "token").read_text().strip()
    banner = "".join(iter(server.proc.stdout.readline, "  (the token is kept in the data dir, readable by you only)\n"))
    assert f"DATABRICKS_TOKEN={token}" in banner, banner  # the operator is told the token, on the terminal only
    auth = {"Authorization": f"Bearer {token}"}
    bodies: list[str] = []

    def call(method: str, path: str, expect: int, **kwargs) -> requests.Response:
        resp = requests.request(method, server.url + path, timeout=10, **kwargs)
        assert resp.status_code == expect, (method, path, resp.status_code, resp.text)
        bodies.append(resp.text)
        return resp

    cid = call(
        "POST",
        "/api/2.1/clusters/create",
        200,
        headers=auth,
        json={
            "cluster_name": "auth",
            "spark_version": "15.4.x-scala2.12",
            "node_type_id": "i3.xlarge",
            "num_workers": 0,
        },
    ).json()["cluster_id"]
    call("GET", "/api/2.1/clusters/get", 200, headers=auth, params={"cluster_id": cid})
    call("GET", "/api/2.1/clusters/get", 400, headers=auth, params={"cluster_id": "nope"})
    call("POST", "/api/2.1/clusters/create", 400, headers=auth, data=b"{not json")
    call("GET", "/api/2.0/dbfs/get-status", 404, headers=auth, params={"path": "/missing"})
    call("GET", "/api/2.0/nope", 404, headers=auth)
    call("POST", "/api/2.2/jobs/runs/submit", 400, headers=auth, json={"run_name": token, "tasks": []})
    call("GET", AUTHED, 401, headers={"Authorization": f"Bearer {token}x"})
    call("GET", AUTHED, 401, headers={"Authorization": f"Bearer {token[:-1]}"})
    call("POST", "/api/2.1/clusters/permanent-delete", 200, headers=auth, json={"cluster_id": cid})
    server.stop()

    for text in bodies:
        assert token not in text
    log = (data / "server.log").read_text() if (data / "server.log").exists() else ""
    assert (data / "server.log").exists(), "airbricks serve logs to <data dir>/server.log"
    assert token not in log
    assert token[4:] not in log
    for path in data.rglob("*"):  # only the token file holds it (the SQLite state must not)
        if path.is_file() and path.name != "token":
            assert token.encode() not in path.read_bytes(), path
