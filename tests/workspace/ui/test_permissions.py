"""The web UI as a second user: the sign-in form takes a token minted for a SCIM user, pages show what that user
may see, and its buttons are refused what the API refuses that user, until the Permissions API grants it."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from databricks.sdk.errors import NotFound
from databricks.sdk.service.compute import ClusterAccessControlRequest, ClusterPermissionLevel

from airbricks.workspace.identity.principals import Principal
from airbricks.workspace.ui.sessions import Sessions

CLUSTER = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 0}


@pytest.fixture
def carol(local_ws: Any, sdk: Any) -> Iterator[tuple[str, str]]:
    """A SCIM user (not an admin) and a token an admin minted for it."""
    name = f"carol-{uuid.uuid4().hex[:8]}@example.com"
    user = sdk.users.create(user_name=name)
    minted = sdk.api_client.do("POST", "/api/2.0/airbricks/tokens", body={"user_name": name})
    yield name, minted["token_value"]
    with contextlib.suppress(NotFound):  # the test may have deleted it
        sdk.users.delete(user.id)


def _sign_in(local_ws: Any, token: str) -> requests.Session:
    session = requests.Session()
    answer = session.post(f"{local_ws.url}/login", data={"token": token, "next": "/"}, timeout=10)
    assert answer.status_code == 200, answer.text
    session.csrf = re.search(r'name="csrf-token" content="([^"]+)"', answer.text).group(1)  # type: ignore[attr-defined]
    return session


def _button(local_ws: Any, session: requests.Session, path: str, body: dict[str, Any]) -> requests.Response:
    return session.post(f"{local_ws.url}/ui/api/{path}", json=body, timeout=10, headers={"X-CSRF-Token": session.csrf})  # type: ignore[attr-defined]


def test_a_second_user_signs_in_and_sees_and_does_only_what_it_may(local_ws: Any, sdk: Any, carol: Any) -> None:
    name, token = carol
    cluster = sdk.clusters.create(cluster_name=f"admins-{uuid.uuid4().hex[:6]}", **CLUSTER).cluster_id
    try:
        browser = _sign_in(local_ws, token)
        home = browser.get(f"{local_ws.url}/", timeout=10)
        assert f'id="viewer">{name}<' in home.text
        assert cluster not in browser.get(f"{local_ws.url}/ui/clusters", timeout=10).text
        page = browser.get(f"{local_ws.url}/ui/clusters/{cluster}", timeout=10)
        assert page.status_code == 403 and "PERMISSION_DENIED" in page.text
        refused = _button(local_ws, browser, "2.0/clusters/delete", {"cluster_id": cluster})
        assert refused.status_code == 403
        assert refused.json() == {
            "error_code": "PERMISSION_DENIED",
            "message": f"User {name} does not have Restart permissions on cluster {cluster}",
        }
        sdk.clusters.update_permissions(
            cluster,
            access_control_list=[
                ClusterAccessControlRequest(user_name=name, permission_level=ClusterPermissionLevel.CAN_RESTART)
            ],
        )
        assert cluster in browser.get(f"{local_ws.url}/ui/clusters", timeout=10).text
        assert _button(local_ws, browser, "2.0/clusters/delete", {"cluster_id": cluster}).status_code == 200
        refused = _button(local_ws, browser, "2.0/clusters/permanent-delete", {"cluster_id": cluster})
        assert refused.status_code == 403 and "Manage permissions" in refused.json()["message"]
        # a sign-in link asked for with a user's token signs in as that user, never as the admin
        link = requests.post(
            f"{local_ws.url}/api/2.0/airbricks/ui/login-links", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()["url"]
        assert f'id="viewer">{name}<' in requests.get(link, timeout=10).text
        # the workspace's user, signed in through the printed link, is an admin
        admin = _sign_in(local_ws, local_ws.token)
        assert admin.get(f"{local_ws.url}/ui/clusters/{cluster}", timeout=10).status_code == 200
    finally:
        sdk.clusters.permanent_delete(cluster)
    # a deleted user's session signs out with it
    sdk.users.delete(next(u.id for u in sdk.users.list(filter=f'userName eq "{name}"')))
    assert browser.get(f"{local_ws.url}/", timeout=10).status_code == 401


def test_the_form_takes_a_principals_token_but_never_a_task_runs() -> None:
    bob = Principal("1", "bob@example.com", "user", frozenset({"users"}))
    run = Principal("1", "bob@example.com", "user", frozenset({"users"}), task_run_id=7)
    known = {"dapi-bob": bob, "dapi-run": run}
    store = Sessions("dapi-secret", authenticate=known.get)
    session = store.sign_in_with_api_token("dapi-bob")
    assert session is not None and session.token == "dapi-bob"
    assert store.sign_in_with_api_token("dapi-run") is None
    assert store.sign_in_with_api_token("dapi-nobody") is None
    linked = store.redeem(store.new_login_token())
    assert linked is not None and linked.token == "dapi-secret"  # the printed link: the workspace's user
