"""``runs/export``: a notebook run as a self-contained HTML page, each cell with what it printed and showed.

The kernel records the cells (:class:`airbricks.workspace.kernel.cells.CellLog`); this renders them the
way the Databricks export reads: the source, the text output, displayed tables, and the failing cell marked
with its error and trace. Also what the workspace's run page will show.

Like the real export, the page also carries the notebook as data - ``__DATABRICKS_NOTEBOOK_MODEL``, the
model's JSON URL-encoded then base64-encoded - whose ``commands`` hold each cell's source, its ``results``
(``raw`` text or a ``table``) and its ``errorSummary``/``error``: what clients decode to read a run's output
(:mod:`airbricks.utils.notebook_output`, the run-output operator's task log).
"""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

STYLE = """body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:.6em;overflow:auto}
.cell{border:1px solid #ddd;margin:1em 0;padding:.5em}.failed{border-color:#c00;background:#fff4f4}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}.error{color:#c00}"""


def load_cells(path: Path) -> list[dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def _table(output: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in output["columns"])
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in output["rows"])
    more = "<p>(showing the first 1000 rows)</p>" if output.get("truncated") else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}"


def _output(output: dict[str, Any]) -> str:
    kind = output["type"]
    if kind == "text":
        return f'<pre class="stdout">{html.escape(output["text"])}</pre>' if output["text"].strip() else ""
    if kind == "table":
        return _table(output)
    if kind == "markdown":
        return f'<div class="markdown"><pre>{html.escape(output["text"])}</pre></div>'
    if kind == "html":
        return f'<div class="html">{output["html"]}</div>'
    return ""


def _command(cell: dict[str, Any]) -> dict[str, Any]:
    """One cell as a command of the notebook model."""
    texts = [o["text"] for o in cell["outputs"] if o["type"] in ("text", "markdown")]
    tables = [o for o in cell["outputs"] if o["type"] == "table"]
    if tables:
        results: dict[str, Any] = {
            "type": "table",
            "data": tables[-1]["rows"],
            "schema": [{"name": c, "type": "string"} for c in tables[-1]["columns"]],
        }
    else:
        results = {"type": "raw", "data": "".join(texts)}
    command = {
        "command": cell["source"],
        "position": cell["number"],
        "results": results,
        "state": "error" if "error" in cell else "finished",
    }
    if "error" in cell:
        command.update(errorSummary=cell["error"]["error"], error=cell["error"]["trace"])
    return command


def model(name: str, cells: list[dict[str, Any]]) -> str:
    """The notebook model of a run as the export page carries it (JSON, URL-encoded, base64)."""
    document = {
        "version": "NotebookV1",
        "name": name.rsplit("/", 1)[-1],
        "language": "python",
        "commands": [_command(cell) for cell in cells],
    }
    return base64.b64encode(urllib.parse.quote(json.dumps(document)).encode()).decode()


def render(name: str, cells: list[dict[str, Any]]) -> str:
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(name)}</title>"
        f"<style>{STYLE}</style><script>var __DATABRICKS_NOTEBOOK_MODEL = '{model(name, cells)}';</script>"
        f"</head><body><h1>{html.escape(name)}</h1>"
    ]
    for cell in cells:
        failed = "error" in cell
        parts.append(f'<div class="cell{" failed" if failed else ""}" data-cell="{cell["number"]}">')
        parts.append(f'<pre class="source">{html.escape(cell["source"])}</pre>')
        parts.extend(_output(o) for o in cell["outputs"])
        if failed:
            parts.append(
                f'<pre class="error">{html.escape(cell["error"]["error"])}\n\n'
                f"{html.escape(cell['error']['trace'])}</pre>"
            )
        parts.append("</div>")
    parts.append("</body></html>")
    return "".join(parts)


def views(
    notebook_path: str, cells_file: Path, redact: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The ``runs/export`` answer: one NOTEBOOK view of the run (its cells passed through ``redact`` first)."""
    cells = load_cells(cells_file)
    page = render(notebook_path, redact(cells) if redact else cells)
    return {"views": [{"content": page, "name": notebook_path.rsplit("/", 1)[-1], "type": "NOTEBOOK"}]}
