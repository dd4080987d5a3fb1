"""The project's own Java classes (under ``java/`` beside this module), compiled on this machine.

Some things only a JVM class can do: a Spark catalog plugin (``spark.sql.catalog.<name>``) or a launcher that
binds a Java service to loopback. No package registry reachable here holds a jar of ours, and the classes must
match the Spark installation they run in (Spark's and Hive's APIs move between releases), so they are compiled
with the JDK's ``javac`` against pyspark's own jars the first time a JVM needs them (a few seconds, once per
machine, installation and version of the sources). The jar is keyed by the sources, the Java binary and Spark's
jars, and lives in the per-user cache directory beside the class-data archives: it holds code only, and every
workspace on the machine shares it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import zipfile
from pathlib import Path

from airbricks.workspace.compute.spark.install import SparkInstall, SparkNotAvailable, installation_key

SOURCES = Path(__file__).with_name("java")
COMPILE_TIMEOUT_SECONDS = 180
_lock = threading.Lock()


def project_jar(install: SparkInstall, directory: Path, root: Path = SOURCES) -> Path:
    """The jar of the Java classes under ``root`` for this installation, compiled first if not cached yet.

    Raises :class:`SparkNotAvailable` naming the fix when the JDK's compiler is missing or refuses a source."""
    sources = sorted(root.rglob("*.java"))
    jar = directory / f"airbricks-{build_key(install, root)}.jar"
    with _lock:
        if not jar.is_file():
            _compile(install, sources, jar)
    return jar


def _compile(install: SparkInstall, sources: list[Path], jar: Path) -> None:
    javac = Path(install.java).resolve().parent / "javac"
    if not javac.is_file():
        found = shutil.which("javac")
        if found is None:
            raise SparkNotAvailable(
                "The local workspace compiles a few Java classes of its own against pyspark's jars and needs "
                "the JDK's javac for it; this machine has a Java runtime only. Install a JDK 17 or newer "
                "(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless) and start the cluster again."
            )
        javac = Path(found)
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="airbricks-javac-") as scratch:
        classes = Path(scratch) / "classes"
        compiled = subprocess.run(
            [str(javac), "-nowarn", "--release", "17", "-cp", str(install.jars / "*"), "-d", str(classes)]
            + [str(source) for source in sources],
            capture_output=True,
            text=True,
            timeout=COMPILE_TIMEOUT_SECONDS,
            check=False,
        )
        if compiled.returncode != 0:
            raise SparkNotAvailable(
                f"javac refused the workspace's Java classes for pyspark {install.pyspark_version}: "
                f"{compiled.stderr.strip()[-2000:]}"
            )
        pending = jar.with_name(f"{jar.stem}.{os.getpid()}.pending")
        with zipfile.ZipFile(pending, "w", zipfile.ZIP_DEFLATED) as archive:
            for item in sorted(classes.rglob("*.class")):
                archive.write(item, item.relative_to(classes).as_posix())
        os.replace(pending, jar)  # published whole: a JVM never meets a half-written jar
    # Jars of other sources stay: another checkout or version on this machine may be running with its own
    # (they are a few kilobytes each, and a workspace deleting another's jar breaks that one's next driver).


def build_key(install: SparkInstall, root: Path = SOURCES) -> str:
    """What the jar depends on: our sources, the Java binary and every jar of the Spark installation (also
    what a JVM's class-data archive depends on: the jar is on every driver's and the metastore's class path)."""
    digest = hashlib.sha256(installation_key(install).encode())
    for source in sorted(root.rglob("*.java")):
        digest.update(source.relative_to(root).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]
