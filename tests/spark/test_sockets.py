"""Nothing the workspace starts listens beyond loopback.

With the session's cluster, its SQL warehouse and a command context running (and a statement through the
warehouse, so its driver has met the metastore), every listening TCP socket held by this process (the
workspace runs in it: REST, HTTPS) or any of its descendants (drivers, the shared metastore, kernels,
the JVMs' internal RPC and block-manager ports, the Spark UI) must be bound to a loopback address. Sockets are
found the way ``ss -ltnp`` finds them, without needing it: the socket inodes in ``/proc/<pid>/fd`` matched
against the listening entries of ``/proc/<pid>/net/tcp`` and ``tcp6``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import StatementState

from airbricks.workspace.server.serve import LocalWorkspace
from secret_helpers import process_tree
from workspace.compute.test_api_commands import run, wait_context

LISTEN = "0A"


def _address(hex_address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # /proc/net/tcp{,6} print each 32-bit word in host (little-endian) order.
    ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(ordered)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped, int(port, 16)
    return address, int(port, 16)


def _fd_links(pid: int) -> list[str]:
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass  # closed meanwhile (the listing's own descriptor is one)
    return links


def listening(pids: set[int]) -> list[tuple[int, str, str, int]]:
    """(pid, command, address, port) of every listening TCP socket the processes hold."""
    out = []
    for pid in sorted(pids):
        try:
            inodes = {link[len("socket:[") : -1] for link in _fd_links(pid) if link.startswith("socket:[")}
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            tables = [Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:] for name in ("tcp", "tcp6")]
        except OSError:
            continue  # ended meanwhile
        name = " ".join(part.decode(errors="replace") for part in command[:3])[:120]
        for line in (row for table in tables for row in table):
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                address, port = _address(fields[1])
                out.append((pid, name, str(address), port))
    return out


def test_every_listening_socket_of_the_workspace_tree_is_loopback(
    spark_ws: LocalWorkspace, spark_sdk: WorkspaceClient, spark_cluster: str, spark_warehouse: str
) -> None:
    ctx = wait_context(spark_sdk, spark_cluster)
    try:
        assert run(spark_sdk, spark_cluster, ctx, "spark.range(3).count()").results.data == "3"
        statement = spark_sdk.statement_execution.execute_statement(
            "SHOW DATABASES", warehouse_id=spark_warehouse, wait_timeout="50s"
        )
        assert statement.status.state == StatementState.SUCCEEDED, statement.status
        sockets = listening(process_tree(os.getpid()))
    finally:
        spark_sdk.command_execution.destroy(cluster_id=spark_cluster, context_id=ctx)
    ports = {port for _, _, _, port in sockets}
    # The sweep saw what it must judge: the REST port, the metastore, and more than one JVM.
    assert spark_ws.port in ports, sockets
    assert spark_ws.workspace.clusters.engine.metastore_port(False) in ports, sockets
    assert len({pid for pid, name, _, _ in sockets if "java" in name}) >= 3, sockets  # 2 drivers + the metastore
    exposed = [s for s in sockets if not ipaddress.ip_address(s[2]).is_loopback]
    print("\n".join(f"{pid} {address}:{port} {name[:70]}" for pid, name, address, port in sockets))
    assert exposed == [], f"listening beyond loopback: {exposed}"


def test_the_sweep_sees_a_socket_on_every_interface() -> None:
    """The control: a socket bound to all interfaces in this process is reported, with its address."""
    with socket.create_server(("0.0.0.0", 0)) as server:
        port = server.getsockname()[1]
        assert (str(ipaddress.ip_address("0.0.0.0")), port) in {(a, p) for _, _, a, p in listening({os.getpid()})}
