"""What a task run's process is given to act in the workspace: a per-run token of its ``run_as`` principal,
and its cluster's environment with ``{{secrets/...}}`` resolved; and, when the run ends, the secret values to
redact. The token side is :mod:`airbricks.workspace.kernel.channel`; this joins it to the identity and secrets
models for the task executor (which knows neither).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from airbricks.workspace.compute.secrets import ClusterSecrets
from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.identity.principals import USERS, Identity, Principal
from airbricks.workspace.kernel import channel as run_channel
from airbricks.workspace.kernel.redacting import VALUES_ENV
from airbricks.workspace.shared import Shared


class RunIdentity:
    def __init__(self, shared: Shared, identity: Identity, cluster_secrets: ClusterSecrets) -> None:
        self.shared = shared
        self.identity = identity
        self.cluster_secrets = cluster_secrets
        self.tokens = run_channel.RunTokens()

    def open(self, task_run_id: int, run_as: str, cluster: dict[str, Any] | None) -> dict[str, str]:
        """The environment of a task run's process: its cluster's variables, the workspace URL, its token."""
        name = run_as or self.shared.user_name
        # A run_as nobody has (deleted since): that name with no rights beyond the ``users`` group, never an admin.
        found = self.identity.named(name) or Principal("0", name, "user", frozenset({USERS}))
        principal = dataclasses.replace(found, task_run_id=task_run_id)
        token = self.tokens.issue(task_run_id, principal)
        env: dict[str, str] = {}
        if cluster is not None:
            try:
                env, values = self.cluster_secrets.task_env(cluster)
            except DatabricksError:
                env, values = {}, set()  # the cluster's own start failed on the same reference and says why
            self.tokens.note_read(task_run_id, values)
            if values:  # the kernel redacts them from its output as it writes it
                env = {**env, VALUES_ENV: json.dumps(sorted(values))}
        return {**env, **run_channel.environment(self.shared.url, token)}

    def principal(self, token: str) -> Principal | None:
        """Who a live per-run token names (None: no such token), for the identity model's token check."""
        return self.tokens.principal(token)

    def note_read(self, task_run_id: int | None, value: bytes) -> None:
        """A run's process read a secret: its text (if it is text) is redacted from the run's outputs."""
        if task_run_id is not None:
            try:
                self.tokens.note_read(task_run_id, {value.decode("utf-8")})
            except UnicodeDecodeError:
                pass

    def values_read(self, task_run_id: int) -> set[str]:
        return self.tokens.values_read(task_run_id)

    def close(self, task_run_id: int) -> set[str]:
        return self.tokens.revoke(task_run_id)

    def close_all(self) -> None:
        self.tokens.clear()
