"""``[REDACTED]``: secret values a run read, replaced in everything the run produces, as Databricks does.

One :class:`Redactor` per task run, built from the values the run read (through ``dbutils.secrets`` or its
cluster's ``{{secrets/...}}`` environment). The run's own process already writes its files redacted as it
goes (:mod:`airbricks.workspace.kernel.redacting`), so nothing on disk holds a value even while the run is in
flight or after the server is killed; the task executor applies this one once more when the run ends, to the
kernel's outcome (exit value, error, error trace) and to the run's files (``output.log``, the cells' outputs
that ``runs/export`` renders): a second line for whatever the kernel could not know, so every later read -
get-output, logs, export, after a restart too - sees the redacted text. Matching is exact, on the value as
text (bytes values as UTF-8 when they decode).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REDACTED = "[REDACTED]"


class Redactor:
    def __init__(self, values: Iterable[str]) -> None:
        # Longest first: a value that contains another is replaced whole.
        self.values = sorted({v for v in values if v}, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.values)

    def text(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def data(self, value: Any) -> Any:
        """A JSON-like value with every string (keys too) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value

    def text_file(self, path: Path) -> None:
        try:
            original = path.read_bytes().decode("utf-8", "surrogateescape")
        except OSError:
            return
        redacted = self.text(original)
        if redacted != original:
            _replace(path, redacted.encode("utf-8", "surrogateescape"))

    def json_file(self, path: Path) -> None:
        try:
            original = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.text_file(path)  # not JSON (cut short by a kill): redact it as text
            return
        redacted = self.data(original)
        if redacted != original:
            _replace(path, json.dumps(redacted).encode())


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".redacting")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
