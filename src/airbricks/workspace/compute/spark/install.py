"""Where Spark comes from: the pyspark package (its ``bin/spark-submit`` and ``jars/``) and a Java 17+ runtime.

Both are checked before the first cluster starts, so a missing piece fails the launch with a termination
reason that names the fix instead of a driver log full of Java errors.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


class SparkNotAvailable(RuntimeError):
    """pyspark or Java is missing (the message says how to install it)."""


@dataclass(frozen=True)
class SparkInstall:
    spark_home: Path
    java: str
    java_major: int
    pyspark_version: str

    @property
    def spark_submit(self) -> str:
        return str(self.spark_home / "bin" / "spark-submit")

    @property
    def jars(self) -> Path:
        return self.spark_home / "jars"


@lru_cache(maxsize=1)
def find_spark() -> SparkInstall:
    """The pyspark installation and Java of this machine; raises :class:`SparkNotAvailable` naming the fix."""
    try:
        import pyspark
    except ImportError:
        raise SparkNotAvailable(
            "pyspark is not installed: pip install 'airbricks[spark]' (brings pyspark[connect]"
            " 4.x), then restart the local workspace."
        ) from None
    home = Path(pyspark.__file__).resolve().parent
    if not (home / "bin" / "spark-submit").exists() or not (home / "jars").is_dir():
        raise SparkNotAvailable(
            f"pyspark at {home} has no bin/spark-submit or jars/: reinstall it with pip install"
            " --force-reinstall 'pyspark[connect]>=4,<5'."
        )
    java = shutil.which("java")
    if java is None:
        raise SparkNotAvailable(
            "Java is not installed: Spark needs a Java 17+ runtime on PATH (e.g. apt-get install"
            " openjdk-17-jre-headless, or brew install openjdk@17)."
        )
    done = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8" style
        major = int(match.group(2))
    if major < 17:
        raise SparkNotAvailable(
            f"{java} is Java {major or 'of an unknown version'}: Spark 4 needs Java 17 or newer on PATH (or JAVA_HOME)."
        )
    return SparkInstall(home, java, major, pyspark.__version__)


def installation_key(install: SparkInstall) -> str:
    """What a class archive or compiled jar depends on: the Java binary and every jar of the Spark installation."""
    digest = hashlib.sha256()
    java = Path(install.java).resolve()
    for item in (java, *sorted(install.jars.glob("*.jar"))):
        try:
            stat = item.stat()
        except OSError:
            continue
        digest.update(f"{item}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
