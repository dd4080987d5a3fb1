"""What the hook's calls take and give back, apart from the hook: endpoint and Files API path spelling,
raw answers, and their JSON or file metadata.

Plain functions of strings and bytes (no Airflow, no provider), so :mod:`airbricks.hooks` stays about calls.
"""

from __future__ import annotations

import json as jsonlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote


def normalize_endpoint(endpoint: str) -> str:
    """``"api/2.0/x"``, ``"/api/2.0/x"`` and ``"2.0/x"`` all name ``2.0/x`` (the hook prepends ``api/``)."""
    endpoint = endpoint.strip().lstrip("/").removeprefix("api/")
    if not re.match(r"^\d+\.\d+/", endpoint):
        raise ValueError(
            f"endpoint {endpoint!r} must start with an API version, e.g. '2.0/clusters/get' or 'api/2.0/clusters/get'"
        )
    return endpoint


def files_api_path(path: str) -> str:
    """The Files API endpoint suffix for an absolute ``/Volumes/...`` path, URL-quoted segment by segment."""
    if not path.startswith("/"):
        raise ValueError(f"Files API paths are absolute (/Volumes/...), got {path!r}")
    return quote(path, safe="/")


@dataclass
class RawResponse:
    """A raw Files API answer: status, headers (lower-cased names) and body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""


def json_or_empty(content: bytes) -> dict[str, Any]:
    if not content:
        return {}
    data = jsonlib.loads(content)
    return data if isinstance(data, dict) else {"result": data}


def json_unless_missing(resp: RawResponse) -> dict[str, Any] | None:
    """A JSON answer, or ``None`` for the 404 a ``missing_ok`` request returns instead of raising."""
    return None if resp.status == 404 else json_or_empty(resp.content)


def file_metadata(path: str, headers: dict[str, str]) -> dict[str, Any]:
    """Files API HEAD headers -> the same shape as a DBFS ``get-status`` answer."""
    from email.utils import parsedate_to_datetime

    modified = headers.get("last-modified")
    mtime = int(parsedate_to_datetime(modified).timestamp() * 1000) if modified else None
    return {
        "path": path,
        "is_dir": False,
        "file_size": int(headers.get("content-length", 0) or 0),
        "modification_time": mtime,
    }
