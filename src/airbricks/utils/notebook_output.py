"""What a notebook run printed, displayed and raised, read from ``jobs/runs/export`` - for the task log.

``runs/get-output`` gives a notebook's exit value and error but not what its cells printed; Databricks keeps
that in the run's export, whose HTML page carries the notebook as data (``__DATABRICKS_NOTEBOOK_MODEL``: the
JSON URL-encoded, then base64-encoded) with each command's ``results`` and ``errorSummary``/``error``. This
decodes it into plain lines; a page without the model (or a model it does not understand) gives no lines.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from typing import Any

_MODEL = re.compile(r"__DATABRICKS_NOTEBOOK_MODEL\s*=\s*['\"]([A-Za-z0-9+/=]+)['\"]")
#: Rows of a displayed table written to the log (the rest is counted).
TABLE_ROWS = 20


def notebook_model(page: str) -> dict[str, Any] | None:
    found = _MODEL.search(page)
    if found is None:
        return None
    try:
        return json.loads(urllib.parse.unquote(base64.b64decode(found.group(1)).decode("utf-8", "replace")))
    except (ValueError, binascii.Error):
        return None


def command_lines(model: dict[str, Any]) -> list[str]:
    """``[cell N]`` then the cell's text output, table and error, for every command that produced any."""
    lines: list[str] = []
    for number, command in enumerate(model.get("commands") or [], start=1):
        body = _results(command.get("results") or {})
        if command.get("errorSummary") or command.get("error"):
            body += [
                f"ERROR {command.get('errorSummary') or ''}".rstrip(),
                *str(command.get("error") or "").splitlines(),
            ]
        if body:
            lines += [f"[cell {command.get('position', number)}]", *body]
    return lines


def _results(results: dict[str, Any]) -> list[str]:
    data = results.get("data")
    if results.get("type") == "table" and isinstance(data, list):
        columns = [str(c.get("name", "")) for c in results.get("schema") or [] if isinstance(c, dict)]
        rows = ["\t".join(str(v) for v in row) for row in data[:TABLE_ROWS] if isinstance(row, list)]
        more = [f"... ({len(data) - TABLE_ROWS} more rows)"] if len(data) > TABLE_ROWS else []
        return (["\t".join(columns)] if columns else []) + rows + more
    if isinstance(data, str) and data.strip():
        return data.rstrip("\n").splitlines()
    return []


def export_lines(export: dict[str, Any]) -> list[str]:
    """The lines of every NOTEBOOK view of a ``runs/export`` answer."""
    lines: list[str] = []
    for view in export.get("views") or []:
        found = notebook_model(str(view.get("content") or "")) if view.get("type", "NOTEBOOK") == "NOTEBOOK" else None
        if found is not None:
            lines += command_lines(found)
    return lines
