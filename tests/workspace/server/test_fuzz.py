"""Bad input against the local workspace: schemathesis fuzzing, path traversal, oversized bodies.

A workspace of its own (not the session's): fuzzing deletes and overwrites whatever it can reach, and the
traversal sweep snapshots the directories around the data dir, which must hold nothing else that changes.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from airbricks.workspace.server.serve import LocalWorkspace

#: Examples per operation and generation mode (positive and negative): ~40 operations x 2 x this.
EXAMPLES = int(os.environ.get("AIRBRICKS_FUZZ_EXAMPLES", "20"))
SENTINEL = b"SENTINEL-OUTSIDE-THE-DATA-DIR"


@pytest.fixture(scope="module")
def fuzz_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalWorkspace, Path]]:
    """A workspace in ``<tmp>/data`` next to ``<tmp>/outside`` (holding a sentinel file), with some content."""
    base = tmp_path_factory.mktemp("fuzz")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SENTINEL)
    with LocalWorkspace(base / "data", cluster_start_seconds=0.2, cluster_stop_seconds=0.1) as ws:
        auth = {"Authorization": f"Bearer {ws.token}"}
        requests.post(
            ws.url + "/api/2.0/dbfs/put",
            headers=auth,
            timeout=10,
            json={
                "path": "/fuzz/a.txt",
                "contents": base64.b64encode(b"hello").decode(),
                "overwrite": True,
            },
        ).raise_for_status()
        requests.post(
            ws.url + "/api/2.0/workspace/mkdirs", headers=auth, json={"path": "/Shared/fuzz"}, timeout=10
        ).raise_for_status()
        # The traversal sweep goes through a volume that exists, so the Files API reaches the disk.
        requests.post(
            ws.url + "/api/2.1/unity-catalog/volumes",
            headers=auth,
            timeout=10,
            json={
                "catalog_name": "main",
                "schema_name": "default",
                "name": "vol",
                "volume_type": "MANAGED",
            },
        ).raise_for_status()
        yield ws, base


def _auth(ws: LocalWorkspace) -> dict[str, str]:
    return {"Authorization": f"Bearer {ws.token}"}


def _snapshot(base: Path, data_dir: Path) -> dict[str, str]:
    """Every file and directory under ``base`` except the data dir, with a digest of each file."""
    snap: dict[str, str] = {}
    for root, dirs, files in os.walk(base):
        here = Path(root)
        if here == data_dir or data_dir in here.parents:
            dirs[:] = []
            continue
        for name in dirs:
            snap[str((here / name).relative_to(base)) + "/"] = "dir"
        for name in files:
            path = here / name
            snap[str(path.relative_to(base))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return snap


def _is_error_body(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error_code"), str) and isinstance(body.get("message"), str)


def test_fuzz_api_with_schemathesis(fuzz_ws):
    """Every main endpoint, positive and negative examples: no 5xx, and 4xx answers are Databricks errors."""
    ws, base = fuzz_ws
    before = _snapshot(base, ws.workspace.data_dir)
    served = requests.get(ws.url + "/api/2.0/airbricks/openapi.json", headers=_auth(ws), timeout=10)
    assert served.status_code == 200
    schema = schemathesis.openapi.from_dict(served.json())
    counts: Counter[str] = Counter()
    server_errors: list[str] = []
    bad_bodies: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        counts["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                response = case.call(base_url=ws.url, headers=_auth(ws), timeout=30)
                counts["examples"] += 1
                counts[f"status_{response.status_code // 100}xx"] += 1
                # what was sent, without the headers (the token is in them)
                sent = f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"[:500]
                try:
                    case.validate_response(response, checks=(not_a_server_error,))
                except Exception:  # schemathesis' failure group; its text would include the request headers
                    server_errors.append(f"{response.status_code} {sent} -> {response.text[:300]}")
                if 400 <= response.status_code < 500 and not _is_error_body(response):
                    bad_bodies.append(f"{response.status_code} {sent} -> {response.text[:200]}")

            call()

    summary = {
        "operations": counts["operations"],
        "examples": counts["examples"],
        "5xx": len(server_errors),
        "4xx_without_error_body": len(bad_bodies),
        **{k: v for k, v in sorted(counts.items()) if k.startswith("status_")},
    }
    print(f"\nFUZZ SUMMARY {json.dumps(summary)}")
    for line in server_errors[:20] + bad_bodies[:20]:
        print("  ", line)
    assert counts["examples"] >= counts["operations"] * 2
    assert not server_errors, server_errors[:10]
    assert not bad_bodies, bad_bodies[:10]
    assert _snapshot(base, ws.workspace.data_dir) == before


# -- path traversal ------------------------------------------------------------------------------------

_UPS = ["../" * n for n in (1, 2, 3, 4, 6, 8)]
EVIL_PATHS = [
    *(f"/{ups}outside/secret.txt" for ups in _UPS),
    *(f"/{ups}outside/new.txt" for ups in _UPS),
    *(f"/x/{ups.replace('../', '%2e%2e/')}outside/secret.txt" for ups in _UPS),
    *(f"/x/{ups.replace('../', '..%2f')}outside/new.txt" for ups in _UPS),
    *(f"/x/{ups.replace('../', '..%252f')}outside/new.txt" for ups in _UPS),
    "/x/..\\..\\..\\..\\outside\\new.txt",
    "dbfs:/../../../outside/new.txt",
    "dbfs:/../../../../outside/secret.txt",
    "/dbfs/../../../outside/new.txt",
    "file:/etc/passwd",
    "/etc/passwd",
    "//etc/passwd",
    "/../../../../../etc/passwd",
    "/x/\x00/../../outside/new.txt",
    "/new\x00.txt",
    "/" + "a" * 5000,
    "/" + "/".join(["d" * 200] * 40),
    "/./././../../outside/new.txt",
    "~/../outside/new.txt",
    "/x/.../.../outside/new.txt",
]


def _files_request(ws: LocalWorkspace, method: str, raw_path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """Send the path exactly as given: ``requests`` (urllib3) would resolve dot segments before sending."""
    conn = http.client.HTTPConnection(ws.host, ws.port, timeout=30)
    try:
        conn.putrequest(method, raw_path, skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {ws.token}")
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body or b"")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_path_traversal_never_escapes_the_data_dir(fuzz_ws):
    ws, base = fuzz_ws
    data_dir = ws.workspace.data_dir
    before = _snapshot(base, data_dir)
    auth = _auth(ws)
    blob = base64.b64encode(b"escaped!").decode()
    answers: Counter[int] = Counter()
    leaks: list[str] = []

    def check(what: str, status: int, body: bytes) -> None:
        answers[status] += 1
        assert status < 500, f"{what} -> {status} {body[:300]!r}"
        if SENTINEL in body or b"root:" in body or base64.b64encode(SENTINEL) in body:
            leaks.append(what)

    for path in EVIL_PATHS:
        for method, endpoint, payload in (
            ("POST", "dbfs/put", {"path": path, "contents": blob, "overwrite": True}),
            ("POST", "dbfs/mkdirs", {"path": path}),
            ("POST", "dbfs/create", {"path": path, "overwrite": True}),
            ("POST", "dbfs/move", {"source_path": "/fuzz/a.txt", "destination_path": path}),
            ("POST", "dbfs/delete", {"path": path, "recursive": True}),
            ("GET", "dbfs/read", {"path": path}),
            ("GET", "dbfs/get-status", {"path": path}),
            ("GET", "dbfs/list", {"path": path}),
            ("POST", "workspace/import", {"path": path, "content": blob, "format": "AUTO", "overwrite": True}),
            ("POST", "workspace/mkdirs", {"path": path}),
            ("POST", "workspace/delete", {"path": path, "recursive": True}),
            ("GET", "workspace/export", {"path": path, "format": "SOURCE"}),
            ("GET", "workspace/get-status", {"path": path}),
            ("GET", "workspace/list", {"path": path}),
        ):
            url = f"{ws.url}/api/2.0/{endpoint}"
            if method == "GET":
                response = requests.get(url, params=payload, headers=auth, timeout=30)
            else:
                response = requests.post(url, json=payload, headers=auth, timeout=30)
            check(f"{method} {endpoint} {path!r}", response.status_code, response.content)
        for prefix in (
            "/api/2.0/fs/files/Volumes/main/default/vol",
            "/api/2.0/fs/directories/Volumes/main/default/vol",
            "/api/2.0/fs/files",
            "/api/2.0/fs/directories",
        ):
            raw = prefix + quote(path, safe="/%:~")  # dot segments and pre-encoded escapes kept as they are
            for method in ("PUT", "GET", "HEAD", "DELETE"):
                status, body = _files_request(ws, method, raw, b"escaped!" if method == "PUT" else None)
                check(f"{method} {raw[:200]!r}", status, body)

    print(f"\nTRAVERSAL SWEEP {len(EVIL_PATHS)} paths, answers by status {dict(sorted(answers.items()))}")
    assert not leaks, leaks
    assert _snapshot(base, data_dir) == before
    assert (base / "outside" / "secret.txt").read_bytes() == SENTINEL
    assert not (base / "outside" / "new.txt").exists()


# -- oversized bodies ----------------------------------------------------------------------------------


def test_oversized_bodies_are_refused_with_the_real_limits(fuzz_ws):
    ws, _ = fuzz_ws
    auth = _auth(ws)
    big = base64.b64encode(b"x" * (15 * 1024 * 1024)).decode()  # 20 MB of base64
    put = requests.post(
        ws.url + "/api/2.0/dbfs/put",
        headers=auth,
        timeout=60,
        json={"path": "/fuzz/big.bin", "contents": big, "overwrite": True},
    )
    assert put.status_code == 400 and put.json()["error_code"] == "MAX_BLOCK_SIZE_EXCEEDED", put.text[:300]

    handle = requests.post(
        ws.url + "/api/2.0/dbfs/create",
        headers=auth,
        timeout=10,
        json={"path": "/fuzz/streamed.bin", "overwrite": True},
    ).json()["handle"]
    two_mb = base64.b64encode(b"y" * (2 * 1024 * 1024)).decode()
    block = requests.post(
        ws.url + "/api/2.0/dbfs/add-block", headers=auth, timeout=60, json={"handle": handle, "data": two_mb}
    )
    assert block.status_code == 400 and block.json()["error_code"] == "MAX_BLOCK_SIZE_EXCEEDED", block.text[:300]
    requests.post(ws.url + "/api/2.0/dbfs/close", headers=auth, json={"handle": handle}, timeout=10)

    read = requests.get(
        ws.url + "/api/2.0/dbfs/read",
        headers=auth,
        timeout=10,
        params={"path": "/fuzz/a.txt", "length": 2 * 1024 * 1024},
    )
    assert read.status_code == 400 and read.json()["error_code"] == "MAX_READ_SIZE_EXCEEDED", read.text[:300]

    notebook = requests.post(
        ws.url + "/api/2.0/workspace/import",
        headers=auth,
        timeout=60,
        json={"path": "/Shared/fuzz/big", "content": big, "format": "SOURCE", "language": "PYTHON", "overwrite": True},
    )
    assert notebook.status_code == 400, notebook.text[:300]
    assert notebook.json()["error_code"] == "MAX_NOTEBOOK_SIZE_EXCEEDED"

    raw_junk = requests.post(ws.url + "/api/2.0/dbfs/mkdirs", headers=auth, timeout=60, data=b"{" * (20 * 1024 * 1024))
    assert 400 <= raw_junk.status_code < 500 and _is_error_body(raw_junk), raw_junk.text[:300]

    for path in ("/fuzz/big.bin", "/fuzz/streamed.bin"):  # nothing half-written left behind
        status = requests.get(ws.url + "/api/2.0/dbfs/get-status", params={"path": path}, headers=auth, timeout=10)
        assert status.status_code == 404 or status.json().get("file_size", 0) == 0, status.text
