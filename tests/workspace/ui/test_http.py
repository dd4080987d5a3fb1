"""The web UI over plain HTTP: sign-in links, the session cookie, CSRF, the buttons' API forwarding, that no
page holds the API token, and that the API itself still wants the bearer token. No browser needed."""

from __future__ import annotations

import html
import re
import time
import uuid
from typing import Any

import pytest
import requests
from tests.workspace.ui.conftest import new_login_link

from airbricks.workspace.ui.run_pages import graph_columns, without_echo

PAGES = (
    "/",
    "/ui/runs",
    "/ui/runs?state=failed",
    "/ui/jobs",
    "/ui/clusters",
    "/ui/warehouses",
    "/ui/workspace",
    "/ui/dbfs",
    "/ui/volumes",
    "/ui/catalog",
    "/ui/catalog/main",
    "/ui/catalog/main/default",
)


@pytest.fixture
def browser_session(local_ws: Any) -> requests.Session:
    """A signed-in HTTP session (the cookie a browser would keep) with the page's CSRF token."""
    session = requests.Session()
    answer = session.get(new_login_link(local_ws), timeout=10)
    assert answer.status_code == 200 and answer.url == f"{local_ws.url}/"
    session.csrf = re.search(r'name="csrf-token" content="([^"]+)"', answer.text).group(1)  # type: ignore[attr-defined]
    return session


def _api(local_ws: Any, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{local_ws.url}/api/{path}", json=body, timeout=10, headers={"Authorization": f"Bearer {local_ws.token}"}
    )


def _wait_ended(sdk: Any, run_id: int) -> None:
    deadline = time.monotonic() + 20
    while sdk.jobs.get_run(run_id).state.life_cycle_state.value not in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
        assert time.monotonic() < deadline, f"run {run_id} did not end"
        time.sleep(0.1)


def test_a_sign_in_link_works_once_and_sets_a_strict_http_only_cookie(local_ws: Any) -> None:
    link = new_login_link(local_ws)
    first = requests.get(link, allow_redirects=False, timeout=10)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("airbricks_session=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    again = requests.get(link, allow_redirects=False, timeout=10)
    assert again.status_code == 401 and "used already" in again.text and "set-cookie" not in again.headers
    unknown = requests.get(f"{local_ws.url}/login?token=nope", allow_redirects=False, timeout=10)
    assert unknown.status_code == 401 and "set-cookie" not in unknown.headers


def test_after_sign_in_only_local_paths_are_followed(local_ws: Any) -> None:
    for target, expected in (
        ("/ui/runs?state=failed", "/ui/runs?state=failed"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ):
        answer = requests.get(new_login_link(local_ws), params={"next": target}, allow_redirects=False, timeout=10)
        assert answer.headers["location"] == expected, target


def test_the_sign_in_form_takes_the_workspace_token_only(local_ws: Any) -> None:
    wrong = requests.post(
        f"{local_ws.url}/login", data={"token": "dapi-wrong", "next": "/ui/runs"}, allow_redirects=False, timeout=10
    )
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    right = requests.post(
        f"{local_ws.url}/login", data={"token": local_ws.token, "next": "/ui/runs"}, allow_redirects=False, timeout=10
    )
    assert right.status_code == 303 and right.headers["location"] == "/ui/runs"
    assert "HttpOnly" in right.headers["set-cookie"]
    foreign = requests.post(
        f"{local_ws.url}/login",
        data={"token": local_ws.token},
        headers={"Origin": "http://evil.example"},
        allow_redirects=False,
        timeout=10,
    )
    assert foreign.status_code == 403 and "set-cookie" not in foreign.headers


def test_signed_out_requests_get_the_sign_in_page_on_every_ui_path(local_ws: Any) -> None:
    for path in (
        *PAGES,
        "/ui/runs/1",
        "/ui/clusters/x",
        "/ui/no-such-page",
        "/ui/dbfs/landing",
        "/ui/catalog/main/default/t",
        "/explore/data/main/default/t",
    ):
        answer = requests.get(f"{local_ws.url}{path}", timeout=10)
        assert answer.status_code == 401, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert 'id="signin"' in answer.text, path


def test_the_api_still_wants_the_bearer_token_with_a_session_cookie(
    local_ws: Any, browser_session: requests.Session
) -> None:
    answer = browser_session.get(f"{local_ws.url}/api/2.0/clusters/list", timeout=10)
    assert answer.status_code == 401 and answer.json()["error_code"] == "UNAUTHENTICATED"


def test_no_page_holds_the_api_token(local_ws: Any, browser_session: requests.Session, sdk: Any) -> None:
    submitted = _api(
        local_ws,
        "2.1/jobs/runs/submit",
        {
            "run_name": "token scan",
            "tasks": [
                {
                    "task_key": "t",
                    "notebook_task": {"notebook_path": "/Shared/missing-notebook"},
                    "new_cluster": {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 0},
                }
            ],
        },
    )
    run_id = submitted.json()["run_id"]
    _wait_ended(sdk, run_id)
    for path in (*PAGES, f"/ui/runs/{run_id}"):
        answer = browser_session.get(f"{local_ws.url}{path}", timeout=10)
        assert answer.status_code == 200, path
        assert local_ws.token not in answer.text, path
        assert local_ws.token not in str(answer.headers), path
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"


def test_buttons_need_the_session_and_its_csrf_token(local_ws: Any, browser_session: requests.Session) -> None:
    url = f"{local_ws.url}/ui/api/2.1/jobs/runs/cancel"
    anonymous = requests.post(url, json={"run_id": 1}, timeout=10)
    assert anonymous.status_code == 401
    no_token = browser_session.post(url, json={"run_id": 1}, timeout=10)
    assert no_token.status_code == 403 and no_token.json()["error_code"] == "PERMISSION_DENIED"
    wrong_origin = browser_session.post(
        url,
        json={"run_id": 1},
        timeout=10,
        headers={"X-CSRF-Token": browser_session.csrf, "Origin": "http://evil.example"},
    )  # type: ignore[attr-defined]
    assert wrong_origin.status_code == 403
    not_a_button = browser_session.post(
        f"{local_ws.url}/ui/api/2.0/clusters/create",
        json={},
        timeout=10,
        headers={"X-CSRF-Token": browser_session.csrf},
    )  # type: ignore[attr-defined]
    assert not_a_button.status_code == 404 and "does not forward" in not_a_button.json()["message"]


@pytest.mark.parametrize(
    "path,body",
    [
        ("2.1/jobs/runs/cancel", {"run_id": 987654}),
        ("2.1/jobs/runs/repair", {"run_id": 987654, "rerun_all_failed_tasks": True}),
        ("2.0/clusters/start", {"cluster_id": "no-such-cluster"}),
        ("2.0/clusters/permanent-delete", {}),
    ],
)
def test_a_button_answers_what_the_api_answers(
    local_ws: Any, browser_session: requests.Session, path: str, body: dict[str, Any]
) -> None:
    """The button's call is the API's call: same status, same error (runs/repair included, whether it exists yet
    or not), made with the token the page never sees."""
    direct = _api(local_ws, path, body)
    via_ui = browser_session.post(
        f"{local_ws.url}/ui/api/{path}", json=body, timeout=10, headers={"X-CSRF-Token": browser_session.csrf}
    )  # type: ignore[attr-defined]
    assert (via_ui.status_code, via_ui.json()) == (direct.status_code, direct.json())
    assert direct.status_code >= 400  # each of these bodies is refused by the API


def test_cancel_through_the_ui_cancels_the_run(local_ws: Any, browser_session: requests.Session, sdk: Any) -> None:
    import base64

    from databricks.sdk.service.workspace import ImportFormat, Language

    sdk.workspace.mkdirs("/Shared/airbricks-ui-http")
    sdk.workspace.import_(
        "/Shared/airbricks-ui-http/sleep",
        content=base64.b64encode(b"# Databricks notebook source\nimport time\ntime.sleep(60)\n").decode(),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
        overwrite=True,
    )
    run_id = _api(
        local_ws,
        "2.1/jobs/runs/submit",
        {
            "run_name": "to cancel",
            "tasks": [
                {
                    "task_key": "t",
                    "notebook_task": {"notebook_path": "/Shared/airbricks-ui-http/sleep"},
                    "new_cluster": {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 0},
                }
            ],
        },
    ).json()["run_id"]
    page = browser_session.get(f"{local_ws.url}/ui/runs/{run_id}", timeout=10)
    assert 'data-refresh="2000"' in page.text and "Cancel run" in page.text
    answer = browser_session.post(
        f"{local_ws.url}/ui/api/2.1/jobs/runs/cancel",
        json={"run_id": run_id},
        timeout=10,
        headers={"X-CSRF-Token": browser_session.csrf},
    )  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    _wait_ended(sdk, run_id)
    assert sdk.jobs.get_run(run_id).state.result_state.value == "CANCELED"
    page = browser_session.get(f"{local_ws.url}/ui/runs/{run_id}", timeout=10)
    assert "data-refresh" not in page.text and "CANCELED" in page.text


def test_paths_cannot_leave_the_browsed_roots(local_ws: Any, browser_session: requests.Session) -> None:
    for path in (
        "/ui/volumes/%2e%2e",
        "/ui/volumes/a/%2e%2e/%2e%2e",
        "/ui/dbfs/%2e%2e/%2e%2e/token",
        "/ui/workspace/%2e%2e/token",
    ):
        answer = browser_session.get(f"{local_ws.url}{path}", timeout=10)
        assert answer.status_code in (400, 404), (path, answer.status_code)
        assert local_ws.token not in answer.text
        assert 'id="error-message"' in answer.text, path


def test_unknown_objects_are_error_pages_not_500s(local_ws: Any, browser_session: requests.Session) -> None:
    for path, message in (
        ("/ui/runs/99999999", "Run 99999999 does not exist"),
        ("/ui/clusters/0000-nope", "Cluster 0000-nope does not exist"),
        ("/ui/jobs/99999999", "Job 99999999 does not exist"),
        ("/ui/runs/abc", "run_id"),
        ("/ui/no-such-page", "No page at /ui/no-such-page"),
    ):
        answer = browser_session.get(f"{local_ws.url}{path}", timeout=10)
        assert answer.status_code in (400, 404), path
        assert message in html.unescape(answer.text), path


def test_the_task_graph_puts_each_task_right_of_its_upstream_tasks() -> None:
    tasks = [
        {"task_key": "d", "depends_on": [{"task_key": "b"}, {"task_key": "c"}]},
        {"task_key": "a"},
        {"task_key": "b", "depends_on": [{"task_key": "a"}]},
        {"task_key": "c", "depends_on": [{"task_key": "a"}]},
    ]
    assert [[t["task_key"] for t in col] for col in graph_columns(tasks)] == [["a"], ["b", "c"], ["d"]]


def test_a_displayed_tables_text_copy_is_not_shown_twice() -> None:
    from airbricks.workspace.kernel.display import text_table

    table = {"type": "table", "columns": ["x"], "rows": [["1"]], "truncated": False}
    cells = [{"number": 1, "outputs": [table, {"type": "text", "text": text_table(["x"], [["1"]]) + "\nafter\n"}]}]
    assert without_echo(cells)[0]["outputs"][1]["text"] == "after\n"


def test_volumes_browser_lists_down_to_a_file_and_downloads_it(
    local_ws: Any, land_file: Any, create_volume: Any, browser_session: requests.Session
) -> None:
    content = b"id,v\n1,2\n"
    create_volume("main.ui_tests.landing")  # volumes exist only once created, as on Databricks
    land_file("/Volumes/main/ui_tests/landing/in/data.csv", content)
    for path, expected in (
        ("/ui/volumes", "/ui/volumes/main"),
        ("/ui/volumes/main", "/ui/volumes/main/ui_tests"),
        ("/ui/volumes/main/ui_tests", "/ui/volumes/main/ui_tests/landing"),
        ("/ui/volumes/main/ui_tests/landing", "/ui/volumes/main/ui_tests/landing/in"),
        ("/ui/volumes/main/ui_tests/landing/in", "/ui/volumes/main/ui_tests/landing/in/data.csv"),
    ):
        answer = browser_session.get(f"{local_ws.url}{path}", timeout=10)
        assert answer.status_code == 200 and f'href="{expected}"' in answer.text, path
    download = browser_session.get(
        f"{local_ws.url}/ui/volumes/main/ui_tests/landing/in/data.csv?download=1", timeout=10
    )
    assert download.content == content
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["content-type"] == "application/octet-stream"


def test_catalog_pages_show_a_created_schema_and_volume_and_refuse_bad_names(
    local_ws: Any, sdk: Any, create_volume: Any, browser_session: requests.Session
) -> None:
    catalog = f"ui_{uuid.uuid4().hex[:8]}"
    create_volume(f"{catalog}.sales.landing")  # its catalog and schema too, removed after the test
    sdk.schemas.update(f"{catalog}.sales", comment="orders by day")

    def get(path: str) -> requests.Response:
        return browser_session.get(f"{local_ws.url}{path}", timeout=10)

    home = get("/")
    assert 'href="/ui/catalog"' in home.text and "not here yet" not in home.text
    assert f'href="/ui/catalog/{catalog}"' in get("/ui/catalog").text
    schemas = get(f"/ui/catalog/{catalog}").text
    assert f'href="/ui/catalog/{catalog}/sales"' in schemas and "orders by day" in schemas
    assert f'href="/ui/catalog/{catalog}/information_schema"' in schemas  # every catalog has it, as in schemas/list
    schema = get(f"/ui/catalog/{catalog}/sales")
    assert schema.status_code == 200
    volumes = schema.text[schema.text.index('id="volumes"') :]
    assert f'href="/ui/volumes/{catalog}/sales/landing"' in volumes and "MANAGED" in volumes
    assert "Only the catalog main holds tables here" in schema.text  # main.<schema> is Spark's <schema>
    assert "without Spark" in get("/ui/catalog/main/default").text  # local_ws has no metastore: the page says so
    # The Volumes browser lists Unity Catalog's records, down to the volume
    assert f'href="/ui/volumes/{catalog}/sales/landing"' in get(f"/ui/volumes/{catalog}/sales").text
    assert f'href="/ui/volumes/{catalog}/sales"' in get(f"/ui/volumes/{catalog}").text
    # Catalog Explorer's links land on the page
    explored = get(f"/explore/data/{catalog}/sales")
    assert explored.url == f"{local_ws.url}/ui/catalog/{catalog}/sales" and 'id="volumes"' in explored.text
    for path, status, message in (
        (f"/ui/catalog/no_{catalog}", 404, f"Catalog 'no_{catalog}' does not exist."),
        (f"/ui/catalog/{catalog}/no_schema", 404, f"Schema '{catalog}.no_schema' does not exist."),
        (f"/ui/catalog/{catalog}/bad%20name", 400, "Invalid name 'bad name'"),
        (f"/ui/catalog/no_{catalog}/sales/t", 404, "does not exist"),
        (f"/ui/volumes/no_{catalog}", 404, f"Catalog 'no_{catalog}' does not exist."),
    ):
        answer = get(path)
        assert answer.status_code == status and 'id="error-message"' in answer.text, (path, answer.status_code)
        assert message in html.unescape(answer.text), path
