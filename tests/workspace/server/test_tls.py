"""``airbricks serve --tls``: the HTTPS listener beside the plain one, its CA made once in the data dir and
verified by real clients (nothing here disables verification)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import requests

from airbricks.workspace.server.serve import free_port
from airbricks.workspace.server.tls import ensure_tls_files


def _banner(server) -> str:
    return "".join(iter(server.proc.stdout.readline, "  (the token is kept in the data dir, readable by you only)\n"))


def test_serve_tls_prints_the_ca_and_the_connection_and_keeps_the_ca(tmp_path: Path, serve_process) -> None:
    data = tmp_path / "ws"
    tls_port = free_port()
    server = serve_process(data, "--tls", "--tls-port", str(tls_port))
    banner = _banner(server)
    ca = data / "tls" / "ca.pem"
    assert f"https://127.0.0.1:{tls_port} (same workspace; CA certificate {ca.resolve()})" in banner, banner
    printed = banner.split("SQL connector:    export AIRFLOW_CONN_DATABRICKS_DEFAULT='")[1]
    connection = json.loads(printed.split("'\n")[0])
    token = (data / "token").read_text().strip()
    assert connection["extra"] == {
        "_port": tls_port,
        "_tls_trusted_ca_file": str(ca.resolve()),
        "enable_telemetry": False,
    }
    assert (connection["port"], connection["schema"], connection["password"]) == (server.port, "http", token)
    auth = {"Authorization": f"Bearer {token}"}
    answer = requests.get(
        f"https://127.0.0.1:{tls_port}/api/2.1/clusters/list", headers=auth, verify=str(ca), timeout=10
    )
    assert answer.status_code == 200 and answer.json() == {"clusters": []}
    assert (
        requests.get(f"https://127.0.0.1:{tls_port}/api/2.1/clusters/list", verify=str(ca), timeout=10).status_code
        == 401
    )  # the same authentication on both listeners
    for key in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((data / "tls" / key).stat().st_mode) == 0o600
    first_ca = ca.read_bytes()
    server.stop()
    again = serve_process(data, "--tls", "--tls-port", str(tls_port))
    _banner(again)
    assert ca.read_bytes() == first_ca  # clients that trust it keep working across restarts
    assert (
        requests.get(
            f"https://127.0.0.1:{tls_port}/api/2.1/clusters/list", headers=auth, verify=str(ca), timeout=10
        ).status_code
        == 200
    )


def test_certificate_is_reissued_for_a_new_host_under_the_same_ca(tmp_path: Path) -> None:
    from cryptography import x509

    first = ensure_tls_files(tmp_path)
    ca, cert = first.ca_file.read_bytes(), first.cert_file.read_bytes()
    assert ensure_tls_files(tmp_path).cert_file.read_bytes() == cert  # covered: reused
    second = ensure_tls_files(tmp_path, ["ws.example.internal"])
    assert second.ca_file.read_bytes() == ca and second.cert_file.read_bytes() != cert
    names = (
        x509.load_pem_x509_certificate(second.cert_file.read_bytes())
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    assert set(names.get_values_for_type(x509.DNSName)) == {"ws.example.internal", "localhost"}
    assert first.ca_file.read_bytes() in second.bundle_file.read_bytes()


def test_the_testing_kit_serves_https_on_request() -> None:
    from airbricks.testing import local_workspace

    with local_workspace(tls=True) as ws:
        assert ws.connector_extra == {
            "_port": int(ws.tls_url.rsplit(":", 1)[1]),
            "_tls_trusted_ca_file": str(ws.ca_file),
            "enable_telemetry": False,
        }
        answer = requests.get(
            f"{ws.tls_url}/api/2.1/clusters/list",
            headers={"Authorization": f"Bearer {ws.token}"},
            verify=str(ws.ca_file),
            timeout=10,
        )
        assert answer.status_code == 200 and answer.json() == {"clusters": []}
        assert str(ws.ca_file).startswith(str(ws.data_dir))  # kept in the data dir, removed with it
