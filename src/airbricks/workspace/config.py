"""Settings of one local workspace, and the token it is reached with."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class WorkspaceConfig:
    """Settings of one local workspace. Durations are in (possibly scaled) seconds."""

    data_dir: Path
    token: str | None = None
    #: The user the token belongs to (SCIM ``Me``, ``creator_user_name``, ``/Users/<user>``).
    user: str = "airbricks@localhost"
    #: The cloud the workspace looks like: node types of its catalogue, ``/.well-known`` (aws, azure or gcp).
    cloud: str = "aws"
    cluster_start_seconds: float = 2.0
    cluster_stop_seconds: float = 0.5
    cluster_restart_seconds: float | None = None
    cluster_resize_seconds: float = 0.5
    #: Auto-termination minutes are multiplied by this, so tests can watch INACTIVITY happen (60 = real time).
    seconds_per_minute: float = 60.0
    tick_seconds: float = 0.02
    #: The interpreter that runs notebooks (default: the server's own, ``sys.executable``).
    python_executable: str | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    #: Seed of the fault rules' random decisions (None: unseeded), so chaos runs can be replayed.
    fault_seed: int | None = None
    #: Real Spark behind clusters (needs ``airbricks[spark]`` and Java 17+): each cluster is a Spark Connect
    #: driver; PENDING lasts until it answers (at least ``cluster_start_seconds``).
    spark: bool = False
    #: At most this many drivers at once (None: what this machine's memory fits).
    max_spark_drivers: int | None = None
    #: The cap of every driver's ``spark.driver.memory``.
    spark_driver_memory: str = "1g"
    #: Maven coordinates every driver loads (``spark.jars.packages``), e.g. ``io.delta:delta-spark_2.13:4.0.0``.
    spark_packages: list[str] = field(default_factory=list)
    #: ``fast-start``: drivers JIT-compile with C1 only (they start and answer short queries about twice as fast
    #: on two cores; long CPU-bound jobs run several times slower). ``full``: the JVM's default tiered JIT.
    spark_jit: str = "fast-start"
    #: Where the JVMs' class-data archives are kept (see :mod:`airbricks.workspace.compute.spark.class_cache`);
    #: None: off.
    spark_class_cache: Path | None = field(default_factory=lambda: default_class_cache())
    #: Idle Spark drivers kept warm for clusters that name no instance pool (the default pool; ~0.9 GB each): a
    #: cluster that fits takes one and is RUNNING without a JVM start. 0: off.
    spark_default_pool: int = 0
    #: Kernel processes kept started for notebook and Python task runs, each having imported pyspark's Connect
    #: client, pandas and dbutils (about 2 s of a Spark notebook run's start); one per run, never reused. 0: off.
    warm_kernels: int = 0
    #: A ``/Volumes/c/s/v/...`` path in a volume nobody created creates it (off: 404, as on Databricks).
    auto_create_volumes: bool = False
    #: How often file-arrival and table-update triggers look for changes (Databricks: about every minute;
    #: tests set a second).
    trigger_check_seconds: float = 60.0

    def __post_init__(self) -> None:
        self.cloud = str(self.cloud).lower()
        if self.cloud not in CLOUDS:
            raise ValueError(f"cloud must be one of {', '.join(CLOUDS)}, got {self.cloud!r}")
        if not self.user or not str(self.user).strip():
            raise ValueError("user must name the workspace's first user, e.g. someone@example.com")
        if not self.trigger_check_seconds > 0:
            raise ValueError(f"trigger_check_seconds must be above 0, got {self.trigger_check_seconds!r}")

    @property
    def restart_seconds(self) -> float:
        return (
            self.cluster_restart_seconds
            if self.cluster_restart_seconds is not None
            else (self.cluster_stop_seconds + self.cluster_start_seconds)
        )


SPARK_JIT_MODES = ("fast-start", "full")
CLOUDS = ("aws", "azure", "gcp")


def default_class_cache() -> Path:
    """The per-user cache directory (``$XDG_CACHE_HOME``, else ``~/.cache``): archives are shared by workspaces."""
    return _user_cache() / "jvm-classes"


def default_java_build() -> Path:
    """Where the project's compiled Java classes are cached (code only, shared by workspaces like the archives)."""
    return _user_cache() / "java"


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airbricks"


TOKEN_FILE = "token"


def load_or_create_token(data_dir: Path, token: str | None) -> str:
    """The token every request must carry: the one given, else the one kept in the data dir (0600)."""
    if token:
        return token
    path = data_dir / TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = "dapi" + secrets.token_hex(16)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start: the token is never readable by others, not even for a moment.
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(value + "\n")
    tmp.replace(path)
    return value
