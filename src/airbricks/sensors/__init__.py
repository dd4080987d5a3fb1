"""Sensors: wait for things in a Databricks workspace."""

from __future__ import annotations

from airbricks.sensors.files import DatabricksFileSensor

__all__ = ["DatabricksFileSensor"]
