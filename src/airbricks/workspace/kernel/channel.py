"""The kernel -> workspace channel: how a task run's process calls the workspace's own REST API.

A notebook needs the workspace while it runs (``dbutils.secrets`` reads the Secrets API; other ``dbutils``
parts can follow the same way). On Databricks a notebook's context carries a short-lived token of the user the
run runs as; here the same:

* **Server side** (:class:`RunTokens`): when a task run's process starts, the workspace issues a random token
  scoped to the run's principal (its ``run_as``), held only in this process's memory - never in the store, the
  spec file or any other file - and revokes it when the task run ends (or the server stops). The identity model
  asks :meth:`RunTokens.principal` for it, so the token is accepted like any other, with that principal's rights
  (secret ACLs apply). It also notes which secret values each run read, for redaction.
* **Kernel side** (:class:`WorkspaceChannel`): the process gets the workspace URL and its token in two
  environment variables (:data:`URL_ENV`, :data:`TOKEN_ENV`); the kernel takes them out of ``os.environ`` at
  start-up (so a notebook's child processes do not inherit them) and calls the API with the standard library's
  ``urllib`` only - the kernel must start fast. Errors come back as :class:`WorkspaceCallError` carrying the
  Databricks ``error_code`` and message.

Reuse: ``WorkspaceChannel.from_environment().call("GET", "/api/2.0/...", {...})`` from any kernel-side module.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from typing import Any

URL_ENV = "AIRBRICKS_WORKSPACE_URL"
TOKEN_ENV = "AIRBRICKS_RUN_TOKEN"


class RunTokens:
    """Live per-run tokens, in memory only. Thread-safe (the HTTP server and the ticker both call it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._principals: dict[str, Any] = {}
        self._by_run: dict[int, str] = {}
        #: Secret values each live run has read (redacted from everything the run produces).
        self._read: dict[int, set[str]] = {}

    def issue(self, task_run_id: int, principal: Any) -> str:
        """A new token for one task run, acting as ``principal`` (a previous one of the same run is revoked)."""
        token = "dkea" + secrets.token_hex(24)
        with self._lock:
            self._revoke(task_run_id)
            self._principals[token] = principal
            self._by_run[task_run_id] = token
            self._read[task_run_id] = set()
        return token

    def principal(self, token: str) -> Any:
        return self._principals.get(token)

    def note_read(self, task_run_id: int, values: set[str]) -> None:
        """A live run read these secret values: redact them from what it produces."""
        with self._lock:
            if task_run_id in self._read:
                self._read[task_run_id].update(v for v in values if v)

    def values_read(self, task_run_id: int) -> set[str]:
        with self._lock:
            return set(self._read.get(task_run_id, ()))

    def revoke(self, task_run_id: int) -> set[str]:
        """End a run's token; returns the secret values it read (the caller redacts its outputs with them)."""
        with self._lock:
            return self._revoke(task_run_id)

    def _revoke(self, task_run_id: int) -> set[str]:
        token = self._by_run.pop(task_run_id, None)
        if token is not None:
            self._principals.pop(token, None)
        return self._read.pop(task_run_id, set())

    def clear(self) -> None:
        with self._lock:
            self._principals.clear()
            self._by_run.clear()
            self._read.clear()


def environment(url: str, token: str) -> dict[str, str]:
    """The two environment variables a task run's process is started with."""
    return {URL_ENV: url, TOKEN_ENV: token}


class WorkspaceCallError(Exception):
    """A call over the channel failed: ``error_code`` and ``message`` as the workspace answered them."""

    def __init__(self, error_code: str, message: str, status: int = 0) -> None:
        super().__init__(f"{error_code}: {message}" if error_code else message)
        self.error_code = error_code
        self.message = message
        self.status = status


class WorkspaceChannel:
    """The kernel's client of the workspace (standard library only)."""

    def __init__(self, url: str | None, token: str | None) -> None:
        self.url = (url or "").rstrip("/")
        self._token = token or ""

    @classmethod
    def from_environment(cls) -> WorkspaceChannel:
        """Take the URL and token out of the environment (children of the kernel do not get them)."""
        return cls(os.environ.pop(URL_ENV, None), os.environ.pop(TOKEN_ENV, None))

    @property
    def available(self) -> bool:
        return bool(self.url and self._token)

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        """``method path`` with ``params`` (a query string for GET, a JSON body otherwise); the decoded answer."""
        if not self.available:
            raise WorkspaceCallError(
                "",
                "this process was not started by a workspace run: there is no workspace "
                "to call (no run token in its environment).",
            )
        import urllib.error  # here: the kernel imports this module, and most runs never call the workspace
        import urllib.parse
        import urllib.request

        url, data = self.url + path, None
        if method == "GET" and params:
            url += "?" + urllib.parse.urlencode(params)
        elif params is not None:
            data = json.dumps(params).encode()
        request = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                body = answer.read()
        except urllib.error.HTTPError as failed:
            raise _error(failed.code, failed.read()) from None
        except urllib.error.URLError as unreachable:
            raise WorkspaceCallError(
                "TEMPORARILY_UNAVAILABLE", f"the workspace at {self.url} cannot be reached: {unreachable.reason}"
            ) from None
        return json.loads(body) if body.strip() else {}


def _error(status: int, body: bytes) -> WorkspaceCallError:
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    return WorkspaceCallError(str(doc.get("error_code") or status), str(doc.get("message") or body[:500]), status)
