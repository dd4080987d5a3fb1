"""Changing a running driver's Spark settings, and recycling a driver for its pool.

Spark Connect builds each session's SQL settings from the defaults the driver's JVM started with; no client
call changes those defaults, and ``spark.conf.set`` reaches one session only. An instance pool's warm driver must
still look, to every notebook of the cluster that takes it, as if it had started with the cluster's
``spark_conf``. The project's Connect plugin (``airbricks.spark.WorkspaceCommands`` under ``java/``, registered on
every driver by :func:`command_conf`) does it on the JVM's side: it changes the shared defaults new sessions are
built from, refuses what only a JVM start can set (static SQL settings, Spark core settings, Hadoop's) with the
keys, and on a driver going back to its pool closes the last cluster's sessions, cancels its jobs and drops its
cached tables and global temp views. The settings travel over the driver's loopback gRPC channel only: they may
hold resolved ``{{secrets/...}}`` values, so they are never written anywhere.
"""

from __future__ import annotations

import json
import re
from typing import Any

COMMANDS_KEY = "spark.connect.extensions.command.classes"
PLUGIN = "airbricks.spark.WorkspaceCommands"
TYPE_URL = "type.googleapis.com/airbricks.DriverSettings"
_NEEDS_NEW_JVM = re.compile(r"AIRBRICKS_NEEDS_NEW_JVM: ([^\s\"'\]]+)")


class NeedsNewJvm(Exception):
    """Settings the driver cannot change in place: Spark fixes them when a JVM starts."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys


def command_conf(user: dict[str, str]) -> dict[str, str]:
    """The driver setting that registers the plugin, after any Connect plugins the user's ``spark_conf`` names."""
    return {COMMANDS_KEY: ",".join(p for p in (user.get(COMMANDS_KEY), PLUGIN) if p)}


def change(session: Any, *, set_: dict[str, str], unset: list[str], recycle: bool = False) -> None:
    """Through ``session`` (the server's own, on the driver), make ``set_``/``unset`` the defaults of the driver's
    new sessions (and first forget its last cluster when ``recycle``). Raises :class:`NeedsNewJvm` naming the keys
    when any needs a JVM start, having changed nothing."""
    from pyspark.sql.connect import proto

    command = proto.Command()
    command.extension.type_url = TYPE_URL
    command.extension.value = json.dumps({"set": set_, "unset": unset, "recycle": recycle}).encode()
    try:
        session.client.execute_command(command)
    except Exception as refused:
        found = _NEEDS_NEW_JVM.search(str(refused))
        if found is None:
            raise
        raise NeedsNewJvm(found.group(1).split(",")) from None
