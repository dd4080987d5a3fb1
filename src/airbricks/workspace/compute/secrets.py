"""``{{secrets/<scope>/<key>}}`` in a cluster's ``spark_conf`` and ``spark_env_vars``, resolved for the cluster.

As on Databricks, the reference stays in the cluster's spec (``clusters/get`` shows it, never the value); the
value is looked up with the cluster creator's permissions each time a driver starts, and handed to the driver
(:meth:`ClusterSecrets.launch_spec`, the clusters model's hook; the driver gets ``spark_conf`` in a private
properties file and ``spark_env_vars`` in its environment, never on a command line) and to the processes of
task runs on that cluster (their environment, :meth:`ClusterSecrets.task_env`), which write their outputs with
the values redacted. A reference that cannot be resolved fails the start with ``SECRET_RESOLUTION_ERROR`` and
the reason.
"""

from __future__ import annotations

from typing import Any

from airbricks.workspace.compute.engine import LaunchRefused
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.identity.principals import Identity
from airbricks.workspace.secrets.scopes import REFERENCE, SecretScopes

FIELDS = ("spark_conf", "spark_env_vars")


class ClusterSecrets:
    """Resolves the references of cluster specs against the workspace's secrets."""

    def __init__(self, secrets: SecretScopes, identity: Identity) -> None:
        self.secrets = secrets
        self.identity = identity

    def resolve(self, doc: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        """A copy of ``doc`` with its references replaced, and the values used (raises when one fails)."""
        if not any(REFERENCE.search(str(v)) for name in FIELDS for v in (doc.get(name) or {}).values()):
            return doc, set()
        owner = self.identity.named(str(doc.get("creator_user_name") or "")) or self.identity.me
        resolved, used = dict(doc), set()
        for name in FIELDS:
            mapping = {}
            for key, value in (doc.get(name) or {}).items():
                mapping[key], values = self.secrets.resolve(owner, str(value))
                used |= values
            resolved[name] = mapping
        return resolved, used

    def task_env(self, doc: dict[str, Any]) -> tuple[dict[str, str], set[str]]:
        """The environment a task's process on this cluster gets (its ``spark_env_vars``), and secret values."""
        resolved, used = self.resolve(doc)
        return {str(k): str(v) for k, v in (resolved.get("spark_env_vars") or {}).items()}, used

    def launch_spec(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The spec a driver starts with (:attr:`Clusters.launch_spec`); a reference that cannot be resolved
        refuses the launch, and the cluster terminates with ``SECRET_RESOLUTION_ERROR`` and the reason."""
        try:
            return self.resolve(doc)[0]
        except DatabricksError as err:
            raise LaunchRefused(
                TerminationReason.error(
                    "SECRET_RESOLUTION_ERROR",
                    f"Failed to resolve the secret references of the cluster: {err.message}",
                    "CLIENT_ERROR",
                )
            ) from None
