"""JVM class-data sharing for the workspace's JVMs: a driver or metastore starts from an archive of the classes
an earlier one loaded, instead of parsing and verifying Spark's thousands of classes again.

Measured on a 2-core machine, a Spark Connect server's start to its first answered catalog query goes from
about 11 s to about 7 s with the archive, and to about 4 s with the C1-only JIT of :data:`FAST_START_OPTIONS`.
When no archive exists yet, the first JVM of a kind starts with ``-XX:+RecordDynamicDumpInfo`` and, once it
has answered its first query, ``jcmd <pid> VM.cds dynamic_dump`` writes the classes it loaded (a few seconds,
once per machine and installation; the JDK's ``jcmd`` is needed, a bare JRE simply gets no archive). The file
is checked by a JVM mapping it before it is published under its final name (a truncated archive crashes the
JVM that maps it). It is keyed by what it depends on (the Java binary, every jar of the Spark installation and
the project's compiled classes, which are on every class path), so a new pyspark, Java or workspace version
never meets an old archive. It holds class metadata only - no data, no secrets - so
it lives in a per-user cache directory shared by every workspace on the machine (test suites start many).
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from airbricks.workspace.compute.spark.install import SparkInstall
from airbricks.workspace.compute.spark.javac import build_key

#: C1 only: JIT-compiled code without the profiling tier, so a JVM reaches speed quickly on few cores.
#: Long CPU-bound jobs run several times slower than with C2; ``spark_jit="full"`` keeps the JVM's default.
FAST_START_OPTIONS = ("-XX:TieredStopAtLevel=1",)
DUMP_TIMEOUT_SECONDS = 120


class ClassCache:
    """One archive per kind of JVM (``driver``, ``metastore``) for this Spark installation."""

    def __init__(self, directory: Path, install: SparkInstall) -> None:
        self.directory = directory
        self.install = install
        self.jcmd = Path(install.java).resolve().parent / "jcmd"
        self._key = build_key(install)  # a new pyspark, Java or project class never meets an old archive
        self._lock = threading.Lock()
        self._attempted: set[str] = set()

    def archive(self, kind: str) -> Path:
        return self.directory / f"{kind}-{self._key}.jsa"

    def options(self, kind: str) -> tuple[list[str], Dump | None]:
        """The JVM options of a new JVM of this kind, and the dump to take once it is warm (None: no dump).

        With an archive: use it. Without one: the first JVM of the kind in this server records what a dump
        needs (one attempt per kind and server process; the others start without)."""
        archive = self.archive(kind)
        if archive.is_file():
            return [f"-XX:SharedArchiveFile={archive}"], None
        if not self.jcmd.is_file():
            return [], None
        with self._lock:
            if kind in self._attempted:
                return [], None
            self._attempted.add(kind)
        return ["-XX:+RecordDynamicDumpInfo"], Dump(archive, self.install.java, str(self.jcmd))


class Dump:
    """The archive of a running JVM's loaded classes, taken with ``jcmd``, checked, then published."""

    def __init__(self, archive: Path, java: str, jcmd: str) -> None:
        self.archive = archive
        self.java = java
        self.jcmd = jcmd

    def take(self, pid: int) -> bool:
        """Dump the JVM ``pid``'s classes (it pauses meanwhile); True when the archive was published."""
        class_path = _class_path(pid)
        if class_path is None:
            return False
        pending = self.archive.with_name(f"{self.archive.stem}.{os.getpid()}.{pid}.pending")
        try:
            self.archive.parent.mkdir(parents=True, exist_ok=True)
            dumped = subprocess.run(
                [self.jcmd, str(pid), "VM.cds", "dynamic_dump", str(pending)],
                capture_output=True,
                timeout=DUMP_TIMEOUT_SECONDS,
                check=False,
            )
            if dumped.returncode != 0 or not pending.is_file():
                return False
            checked = subprocess.run(
                [self.java, "-cp", class_path, f"-XX:SharedArchiveFile={pending}", "-Xshare:on", "-version"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            if checked.returncode != 0:
                return False
            os.replace(pending, self.archive)
            kind = self.archive.name.split("-")[0]
            for other in self.archive.parent.glob(f"{kind}-*.jsa"):
                if other != self.archive:
                    other.unlink(missing_ok=True)  # an archive of an earlier installation
            return True
        except (OSError, subprocess.TimeoutExpired):
            return False
        finally:
            pending.unlink(missing_ok=True)


def _class_path(pid: int) -> str | None:
    """A running JVM's class path (spark-submit computes it; the check must map the archive with the same)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
    except OSError:
        return None
    position = args.index("-cp") + 1 if "-cp" in args else 0
    return args[position] if 0 < position < len(args) else None
