"""Workspace settings: the ``workspace-conf`` key/value store (``/api/2.0/workspace-conf``)."""
