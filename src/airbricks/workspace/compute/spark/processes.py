"""JVM processes the workspace owns: each in its own process group, marked, and never outliving the server.

Three guards, so no JVM is left behind: the group is killed as a unit (``spark-submit`` execs into the JVM,
so the group is the JVM and anything it forks); on Linux the child gets ``PR_SET_PDEATHSIG`` so it dies with
the thread that started it even after a kill -9 of the server; and every command carries
``-Dairbricks.owner=<spark dir>``, so a restarted server finds and kills what a previous one left.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from airbricks.utils.processes import dying_with_parent, free_port

__all__ = ["MARKER", "free_port", "port_open", "spawn"]  # free_port: the drivers and the metastore take ports here

MARKER = "-Dairbricks.owner="


def spawn(command: list[str], *, log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session with output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    command, preexec = dying_with_parent(command)
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(cwd),
            start_new_session=True,
            close_fds=True,
            preexec_fn=preexec,
        )


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def owned_processes(owner: Path) -> list[int]:
    """Live processes (zombies excluded) whose command line carries this owner's marker."""
    marker = f"{MARKER}{owner}".encode()
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes() + b"\0"
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and (marker + b" " in cmdline or marker + b"\0" in cmdline):
            found.append(int(entry))
    return found


def kill_leftovers(owner: Path) -> int:
    """Kill every process group with this owner's marker (what a previous server left); returns how many."""
    killed = 0
    for pid in owned_processes(owner):
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def log_tail(log: Path, size: int = 3000) -> str:
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
