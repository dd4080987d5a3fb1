"""What the SQL model tests share: scripted warehouse drivers that are a whole
:class:`~airbricks.workspace.compute.engine.ComputeEngine` (so the models take them as they take the real one)."""

from __future__ import annotations

from tests.workspace.sql.test_model_warehouses import ScriptedEngine


class Drivers(ScriptedEngine):
    """:class:`ScriptedEngine` (drivers the test readies by hand) with the rest of the engine's protocol."""

    def describe(self) -> str:
        return "scripted drivers"

    def recover(self) -> None:
        return None

    def shutdown(self) -> None:
        self.drivers.clear()

    def submit_command(self, cluster_id: str, arguments: list[str]) -> list[str] | None:
        return None

    def metastore_port(self, start: bool = True) -> int | None:
        return None  # scripted drivers share no metastore
