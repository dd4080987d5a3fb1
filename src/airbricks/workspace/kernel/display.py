"""``display()`` and ``displayHTML()`` in the local kernel: tables into the run's output and its cell log.

A Spark or pandas DataFrame is shown as Databricks shows it - the first 1,000 rows with the column names -
printed as a text table into the run's log and recorded as a table for ``runs/export``. Anything else is
printed. Standard library only: DataFrames are recognized by their methods, not their types.
"""

from __future__ import annotations

from typing import Any

from airbricks.workspace.kernel.cells import CellLog

MAX_ROWS = 1000
MAX_CELL_CHARS = 200


def _cell(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 3] + "..."


def table_of(obj: Any) -> tuple[list[str], list[list[str]], bool] | None:
    """(columns, rows as text, truncated) of a Spark or pandas DataFrame, else None."""
    if hasattr(obj, "limit") and hasattr(obj, "columns") and hasattr(obj, "collect"):  # Spark DataFrame
        rows = obj.limit(MAX_ROWS + 1).collect()
        columns = list(obj.columns)
        values = [[_cell(v) for v in row] for row in rows[:MAX_ROWS]]
        return columns, values, len(rows) > MAX_ROWS
    if hasattr(obj, "to_dict") and hasattr(obj, "columns") and hasattr(obj, "itertuples"):  # pandas
        head = obj.head(MAX_ROWS)
        columns = [str(c) for c in obj.columns]
        values = [[_cell(v) for v in row] for row in head.itertuples(index=False)]
        return columns, values, len(obj) > MAX_ROWS
    return None


def text_table(columns: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=False)) + " |"

    return "\n".join([line, fmt(columns), line, *(fmt(r) for r in rows), line])


class Display:
    """The ``display`` / ``displayHTML`` globals of one run."""

    def __init__(self, log: CellLog) -> None:
        self.log = log

    def __call__(self, obj: Any = None, *args: Any, **kwargs: Any) -> None:
        table = table_of(obj)
        if table is None:
            print(obj)
            return
        columns, rows, truncated = table
        self.log.add({"type": "table", "columns": columns, "rows": rows, "truncated": truncated})
        print(text_table(columns, rows) + ("\n(showing the first 1000 rows)" if truncated else ""))

    def html(self, html: str) -> None:
        self.log.add({"type": "html", "html": str(html)})
