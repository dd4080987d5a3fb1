"""Why compute stopped: the ``termination_reason`` of clusters and warehouses, one typed record for both.

Databricks answers ``{"code": ..., "type": ..., "parameters": {...}}`` (``TerminationReason`` in the SDK's
``compute`` and ``sql`` services); building it in one place keeps the three fields and their spelling together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TerminationReason:
    """``code`` (e.g. ``USER_REQUEST``, ``INACTIVITY``), ``type`` (``SUCCESS``, ``CLIENT_ERROR``,
    ``SERVICE_FAULT``, ``CLOUD_FAILURE``) and free-form string ``parameters``."""

    code: str
    type: str = "SUCCESS"
    parameters: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, code: str, message: str, type_: str = "SERVICE_FAULT") -> TerminationReason:
        """A failure, its message where clients read it (``parameters.databricks_error_message``)."""
        return cls(code, type_, {"databricks_error_message": message})

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> TerminationReason | None:
        """The record of a stored document (None stays None; a reason missing fields is UNKNOWN)."""
        if doc is None:
            return None
        params = doc.get("parameters") or {}
        return cls(str(doc.get("code", "UNKNOWN")), str(doc.get("type", "SERVICE_FAULT")), dict(params))

    @property
    def message(self) -> str:
        """The error message it carries, else its code."""
        return self.parameters.get("databricks_error_message", self.code)

    def to_doc(self) -> dict[str, Any]:
        """As the API answers it."""
        return {"code": self.code, "type": self.type, "parameters": dict(self.parameters)}
