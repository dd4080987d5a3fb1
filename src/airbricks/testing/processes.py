"""Supervised server processes: each in its own process group, ready on a real check, never left behind.

A deployment for tests is a handful of servers (PostgreSQL, Redis, Airflow's services, Celery workers).  A
test that fails, a Ctrl-C or a crashed test process must not leave any of them running: on a shared 2-core
machine an orphaned scheduler or worker slows every later test and holds ports.  So every process:

* starts in a new session (its own process group), so stopping it reaches what it forked too (task
  processes, Celery's pool, PostgreSQL's backends);
* gets ``PR_SET_PDEATHSIG`` (Linux): the kernel SIGKILLs it if the process that started it dies without
  cleaning up (kill -9 of pytest).  That is tied to the starting *thread*, so start services from one
  long-lived thread (the main thread in practice), never from a short-lived pool thread;
* is stopped by :meth:`Supervisor.stop_all` in reverse start order (SIGTERM to the group, then SIGKILL), which
  also runs from ``atexit`` and on SIGTERM, so an interrupted run cleans up as well;
* logs to one file per service, named in every failure message.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airbricks.utils.processes import die_with_parent

if TYPE_CHECKING:
    import psutil


def descendants(pid: int) -> list[psutil.Process]:
    """Every process under ``pid`` now (children, grandchildren...), whatever their process group."""
    import psutil

    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).children(recursive=True)
    return []


def _kill_all(pid: int, tree: list[psutil.Process]) -> None:
    """SIGKILL to the process group of ``pid`` and to each process of ``tree`` still alive."""
    import psutil

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for process in tree:
        with contextlib.suppress(psutil.Error):
            process.kill()


_LIVE: weakref.WeakSet[Supervisor] = weakref.WeakSet()
_HOOKS_INSTALLED = False


def unprivileged_user() -> pwd.struct_passwd | None:
    """The user a server refusing root (PostgreSQL) runs as when we are root: ``nobody``; ``None`` otherwise.

    Users run this as themselves; only CI and this machine run as root, where PostgreSQL would refuse to
    start.  ``nobody`` exists on every Linux, so nothing is created on the system.
    """
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("nobody")


@dataclass
class Service:
    """One supervised process.

    :param name: short name, also the log file's stem (``<logs>/<name>.log``).
    :param argv: the command.
    :param env: its environment (``None``: this process's).
    :param ready: a check returning True once the service answers (a query, a PING, an HTTP 200, a log line).
    :param user: run as this user (see :func:`unprivileged_user`); ``None``: as ourselves.
    :param stop_signal: the polite stop signal (SIGTERM; PostgreSQL's fast shutdown is SIGINT).
    """

    name: str
    argv: Sequence[str]
    env: dict[str, str] | None = None
    ready: Callable[[], bool] = lambda: True
    user: pwd.struct_passwd | None = None
    stop_signal: int = signal.SIGTERM
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log: Path | None = None
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        if self.log is None or not self.log.exists():
            return "(no log)"
        return self.log.read_text(errors="replace")[-chars:]


class Supervisor:
    """Starts services, waits until they are ready, stops them all (also from atexit / SIGTERM)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.services: dict[str, Service] = {}
        self._lock = threading.Lock()
        _install_hooks()
        _LIVE.add(self)

    def spawn(self, service: Service) -> Service:
        """Start ``service`` now (no wait); a service of that name already running is an error."""
        old = self.services.get(service.name)
        if old is not None and old.running():
            raise RuntimeError(f"service {service.name} is already running (pid {old.pid})")
        self.logs.mkdir(parents=True, exist_ok=True)
        service.log = self.logs / f"{service.name}.log"
        user = service.user

        def preexec() -> None:
            die_with_parent()
            if user is not None:
                os.setgid(user.pw_gid)
                os.setgroups([])
                os.setuid(user.pw_uid)

        with open(service.log, "ab") as out:
            service.proc = subprocess.Popen(
                list(service.argv),
                env=service.env,
                cwd=service.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=preexec,
            )
        service.starts += 1
        with self._lock:
            self.services[service.name] = service
        return service

    def wait_ready(self, names: Sequence[str] | None = None, timeout: float = 180.0) -> None:
        """Poll every named service's check until all pass; fail naming the service and its log tail."""
        pending = list(names if names is not None else self.services)
        deadline = time.monotonic() + timeout
        while pending:
            for name in list(pending):
                service = self.services[name]
                if not service.running():
                    code = service.proc.returncode if service.proc else None
                    raise RuntimeError(
                        f"{name} exited with {code} before it was ready; its log ({service.log}):\n{service.tail()}"
                    )
                with contextlib.suppress(Exception):
                    if service.ready():
                        pending.remove(name)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"not ready after {timeout:.0f} s: {pending}; logs: "
                    + ", ".join(str(self.services[n].log) for n in pending)
                )
            time.sleep(0.1)

    def stop(
        self, name: str, timeout: float = 20.0, sig: int | None = None, tree: list[psutil.Process] | None = None
    ) -> None:
        """Stop one service's whole process group: its stop signal, then SIGKILL after ``timeout`` to the group
        and to every process under the service (``tree``: taken before it was signalled, when it was)."""
        service = self.services.get(name)
        if service is None or service.proc is None:
            return
        proc = service.proc
        if tree is None:  # known before the service exits and its children are re-parented
            tree = descendants(proc.pid)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig or service.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        _kill_all(proc.pid, tree)  # what the service forked and left behind, in its group or not
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def kill(self, name: str) -> None:
        """kill -9 of the service and every process under it, as a crashed machine would: no clean-up runs.

        Its whole process tree, not only its process group: Airflow 3.3 runs each task in a process group of
        its own, which would outlive a group kill and clean up after itself, as no task on a lost machine can.
        """
        service = self.services[name]
        if service.proc is not None:
            _kill_all(service.proc.pid, descendants(service.proc.pid))
            service.proc.wait(timeout=10)

    def restart(self, name: str, timeout: float = 120.0) -> None:
        """Stop (if running), start again with the same command, wait until ready."""
        service = self.services[name]
        self.stop(name)
        self.spawn(service)
        self.wait_ready([name], timeout=timeout)

    def stop_all(self, timeout: float = 20.0) -> None:
        """Every service, last started first: each gets its stop signal, then its group is SIGKILLed."""
        names = list(self.services)[::-1]
        trees = {}
        for name in names:  # signal everyone first, so they shut down in parallel
            proc = self.services[name].proc
            if proc is not None and proc.poll() is None:
                trees[name] = descendants(proc.pid)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, self.services[name].stop_signal)
        for name in names:
            self.stop(name, timeout=timeout, tree=trees.get(name))


def _stop_everything() -> None:
    for supervisor in list(_LIVE):
        with contextlib.suppress(Exception):
            supervisor.stop_all(timeout=5)


def _install_hooks() -> None:
    """``atexit`` for every exit Python handles (Ctrl-C included), and SIGTERM turned into one."""
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(_stop_everything)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
        signal.SIG_DFL,
        None,
    ):

        def on_term(signum: int, frame: object) -> None:
            _stop_everything()
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, on_term)
