"""Spark settings handed to a JVM in a file only its owner can read, never on a command line.

Every local user can read any process's arguments (``/proc/<pid>/cmdline``, ``ps``), and a cluster's settings
may hold resolved ``{{secrets/...}}`` values, so ``spark-submit`` gets them with ``--properties-file``: a 0600
file in a 0700 directory of its own, outside the data dir (memory-backed ``/dev/shm`` where there is one, so
the value never reaches a disk), removed by :func:`remove` once the JVM has read it. Standard library only:
the kernel imports it for jar and submit tasks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

FLAG = "--properties-file"
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}


def write(conf: dict[str, str], prefix: str = "airbricks-conf-") -> Path:
    """A new private properties file holding ``conf`` (remove it with :func:`remove`)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir=_base()))  # 0700
    path = directory / "spark.properties"
    text = "".join(f"{escape(key, key=True)}={escape(value)}\n" for key, value in conf.items())
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _base() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def sweep(older_than_seconds: float, prefix: str = "airbricks-conf-") -> None:
    """Remove this user's files of ``prefix`` older than any JVM takes to read one: left by a server killed
    (``kill -9``) before its driver listened."""
    base = Path(_base() or tempfile.gettempdir())
    limit = time.time() - older_than_seconds
    for directory in base.glob(f"{prefix}*"):
        try:
            info = directory.stat()
        except OSError:
            continue
        if info.st_uid == os.getuid() and info.st_mtime < limit:
            shutil.rmtree(directory, ignore_errors=True)


def remove(path: Path | None) -> None:
    """Remove a file :func:`write` made, with its directory."""
    if path is not None:
        shutil.rmtree(path.parent, ignore_errors=True)


def escape(text: str, *, key: bool = False) -> str:
    """``text`` as ``java.util.Properties.load`` reads it back (Spark reads the file as UTF-8 and trims values)."""
    out = []
    for i, char in enumerate(text):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char in "=:#!" or (char == " " and (key or i == 0)):
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def split_conf(command: list[str]) -> tuple[list[str], dict[str, str]]:
    """A ``spark-submit`` command without its ``--conf key=value`` pairs, and those pairs."""
    rest: list[str] = []
    conf: dict[str, str] = {}
    items = iter(command)
    for item in items:
        if item == "--conf":
            pair = next(items, "")
            key, _, value = pair.partition("=")
            conf[key] = value
        elif item.startswith("--conf="):
            key, _, value = item[len("--conf=") :].partition("=")
            conf[key] = value
        else:
            rest.append(item)
    return rest, conf
