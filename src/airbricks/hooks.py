"""Typed helpers on top of the official provider's ``DatabricksHook``.

The provider's hook knows jobs, runs and cluster state, but not cluster creation/deletion, DBFS or the
Files API, and its errors are plain text. :class:`AirbricksDatabricksHook` adds those calls, sync and
async, reusing the provider's authentication, retry policy, timeouts, proxies and user agent: there is
no second HTTP client with its own idea of auth.  Errors come back as :class:`~airbricks.errors.DatabricksRequestError`
with Databricks' ``error_code`` and ``message`` parsed out, and never contain the token.

Whatever of the provider's hook is private (``_do_api_call``, ``_get_token``, its retry object...) is
reached only through :mod:`airbricks._provider`, the one module to fix when a provider release changes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import requests
from airflow.providers.common.compat.sdk import AirflowException
from airflow.providers.databricks.exceptions import DatabricksApiError
from airflow.providers.databricks.hooks.databricks import DatabricksHook
from tenacity import RetryError

from airbricks import _provider
from airbricks.errors import (
    NOT_FOUND_CODES,
    error_from_body,
    gave_up,
    parse_api_error,
)
from airbricks.utils.api import (
    RawResponse,
    file_metadata,
    files_api_path,
    json_or_empty,
    json_unless_missing,
    normalize_endpoint,
)
from airbricks.utils.clusters import USABLE_STATES as USABLE_CLUSTER_STATES

# NOT_FOUND_CODES, parse_api_error, USABLE_CLUSTER_STATES, RawResponse, files_api_path and normalize_endpoint
# moved to airbricks.errors / airbricks.utils; their names stay importable from here, as in airbricks 0.1.
# The error type, DatabricksRequestError, is imported from airbricks.errors only.
__all__ = [
    "CLUSTERS_API",
    "NOT_FOUND_CODES",
    "USABLE_CLUSTER_STATES",
    "AirbricksDatabricksHook",
    "RawResponse",
    "files_api_path",
    "normalize_endpoint",
    "parse_api_error",
]

CLUSTERS_API = "2.1/clusters"


@dataclass
class _SharedSession:
    session: Any
    users: int = 0


#: One session per event loop, shared by the triggers waiting in it (see ``shared_session``).
_SHARED_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedSession] = weakref.WeakKeyDictionary()


class AirbricksDatabricksHook(DatabricksHook):
    """The provider's ``DatabricksHook`` plus typed calls for clusters, DBFS and the Files API.

    :param databricks_conn_id: the Airflow connection (type ``databricks``) to use.
    :param kwargs: passed to ``DatabricksHook`` (``timeout_seconds``, ``retry_limit``, ``retry_delay``,
        ``retry_args``, ``caller``).
    """

    hook_name = "Databricks (airbricks)"

    # ---------------------------------------------------------------- generic JSON calls
    def call(self, method: str, endpoint: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        """One REST call; ``endpoint`` like ``2.0/clusters/get`` or ``api/2.0/clusters/get``.

        GET/POST/PATCH go through the provider's ``_do_api_call``; PUT and HEAD (which it does not support)
        and DELETE (which it sends without a body and whose answer may be an empty 204) through
        :meth:`raw_request`, with the same auth and retries.  An empty answer is ``{}``.
        """
        method = method.upper()
        endpoint = normalize_endpoint(endpoint)
        if method in ("PUT", "HEAD", "DELETE"):
            resp = self.raw_request(method, endpoint, json=json)
            return json_or_empty(resp.content)
        try:
            result = _provider.api_call(self, method, endpoint, json)
        except AirflowException as exc:  # DatabricksApiError, or retries exhausted (the error code is kept)
            if not isinstance(exc, DatabricksApiError) and not isinstance(exc.__cause__, RetryError):
                raise
            raise parse_api_error(exc, f"{method} {endpoint}") from None
        return result if isinstance(result, dict) else {"result": result}

    async def a_call(self, method: str, endpoint: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        """Async :meth:`call` via the provider's ``_a_do_api_call``.

        Inside ``async with hook:`` (a trigger's whole wait) every call reuses that one session and its
        keep-alive connection; otherwise a session is opened for this call only.
        """
        method = method.upper()
        endpoint = normalize_endpoint(endpoint)
        try:
            async with _provider.a_session(self):
                result = await _provider.a_api_call(self, method, endpoint, json)
        except DatabricksApiError as exc:
            raise parse_api_error(exc, f"{method} {endpoint}") from None
        return result if isinstance(result, dict) else {"result": result}

    # ---------------------------------------------------------------- clusters
    def create_cluster(self, spec: dict[str, Any]) -> str:
        """``clusters/create``; returns the new cluster id (the cluster is PENDING)."""
        return str(self.call("POST", f"{CLUSTERS_API}/create", spec)["cluster_id"])

    def get_cluster(self, cluster_id: str) -> dict[str, Any]:
        """``clusters/get``: the full cluster description (state, state_message, termination_reason...)."""
        return self.call("GET", f"{CLUSTERS_API}/get", {"cluster_id": cluster_id})

    async def a_get_cluster(self, cluster_id: str) -> dict[str, Any]:
        return await self.a_call("GET", f"{CLUSTERS_API}/get", {"cluster_id": cluster_id})

    def list_clusters(self) -> Iterator[dict[str, Any]]:
        """Every cluster of the workspace, following ``next_page_token``."""
        params: dict[str, Any] = {"page_size": 100}
        while True:
            page = self.call("GET", f"{CLUSTERS_API}/list", params)
            yield from page.get("clusters", [])
            token = page.get("next_page_token")
            if not token:
                return
            params = {"page_size": 100, "page_token": token}

    def start_cluster_by_id(self, cluster_id: str) -> None:
        """``clusters/start`` for a TERMINATED cluster."""
        self.call("POST", f"{CLUSTERS_API}/start", {"cluster_id": cluster_id})

    def delete_cluster(self, cluster_id: str) -> None:
        """``clusters/delete``: terminate (the cluster stays listed as TERMINATED)."""
        self.call("POST", f"{CLUSTERS_API}/delete", {"cluster_id": cluster_id})

    def permanent_delete_cluster(self, cluster_id: str) -> None:
        """``clusters/permanent-delete``: terminate and remove it from the workspace."""
        self.call("POST", f"{CLUSTERS_API}/permanent-delete", {"cluster_id": cluster_id})

    def cluster_url(self, cluster_id: str) -> str:
        """The cluster's page in the workspace UI."""
        return f"{self.workspace_url()}/#setting/clusters/{cluster_id}/configuration"

    def workspace_url(self) -> str:
        return _provider.url(self, "").rstrip("/")

    # ---------------------------------------------------------------- DBFS
    # ``missing_ok=True``: a 404 (missing file or directory) answers ``None`` instead of raising.  File waits
    # ask this way on every poll: the provider's error path costs a chain of exceptions per "not yet".
    def dbfs_get_status(self, path: str, *, missing_ok: bool = False) -> dict[str, Any] | None:
        """``dbfs/get-status``: ``{path, is_dir, file_size, modification_time}``."""
        if not missing_ok:
            return self.call("GET", "2.0/dbfs/get-status", {"path": path})
        return json_unless_missing(
            self.raw_request("GET", "2.0/dbfs/get-status", params={"path": path}, missing_ok=True)
        )

    async def a_dbfs_get_status(self, path: str, *, missing_ok: bool = False) -> dict[str, Any] | None:
        if not missing_ok:
            return await self.a_call("GET", "2.0/dbfs/get-status", {"path": path})
        return json_unless_missing(
            await self.a_raw_request("GET", "2.0/dbfs/get-status", params={"path": path}, missing_ok=True)
        )

    def dbfs_list(self, path: str, *, missing_ok: bool = False) -> list[dict[str, Any]] | None:
        """``dbfs/list`` of a directory (an empty directory lists nothing)."""
        if not missing_ok:
            return list(self.call("GET", "2.0/dbfs/list", {"path": path}).get("files", []))
        page = json_unless_missing(self.raw_request("GET", "2.0/dbfs/list", params={"path": path}, missing_ok=True))
        return None if page is None else list(page.get("files", []))

    async def a_dbfs_list(self, path: str, *, missing_ok: bool = False) -> list[dict[str, Any]] | None:
        if not missing_ok:
            return list((await self.a_call("GET", "2.0/dbfs/list", {"path": path})).get("files", []))
        page = json_unless_missing(
            await self.a_raw_request("GET", "2.0/dbfs/list", params={"path": path}, missing_ok=True)
        )
        return None if page is None else list(page.get("files", []))

    # ---------------------------------------------------------------- Files API (Volumes)
    def files_head(self, path: str, *, missing_ok: bool = False) -> dict[str, Any] | None:
        """``HEAD /api/2.0/fs/files{path}``: ``{path, file_size, modification_time}`` (ms since epoch)."""
        resp = self.raw_request("HEAD", f"2.0/fs/files{files_api_path(path)}", missing_ok=missing_ok)
        return None if resp.status == 404 else file_metadata(path, resp.headers)

    async def a_files_head(self, path: str, *, missing_ok: bool = False) -> dict[str, Any] | None:
        resp = await self.a_raw_request("HEAD", f"2.0/fs/files{files_api_path(path)}", missing_ok=missing_ok)
        return None if resp.status == 404 else file_metadata(path, resp.headers)

    def files_list_directory(self, path: str, *, missing_ok: bool = False) -> list[dict[str, Any]] | None:
        """``GET /api/2.0/fs/directories{path}``, all pages.

        Entries ``{path, is_directory, file_size, last_modified, name}``.
        """
        entries: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        while True:
            resp = self.raw_request(
                "GET", f"2.0/fs/directories{files_api_path(path)}", params=params, missing_ok=missing_ok
            )
            page = json_unless_missing(resp)
            if page is None:
                return None
            entries.extend(page.get("contents", []))
            if not page.get("next_page_token"):
                return entries
            params = {"page_token": page["next_page_token"]}

    async def a_files_list_directory(self, path: str, *, missing_ok: bool = False) -> list[dict[str, Any]] | None:
        entries: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        while True:
            resp = await self.a_raw_request(
                "GET", f"2.0/fs/directories{files_api_path(path)}", params=params, missing_ok=missing_ok
            )
            page = json_unless_missing(resp)
            if page is None:
                return None
            entries.extend(page.get("contents", []))
            if not page.get("next_page_token"):
                return entries
            params = {"page_token": page["next_page_token"]}

    def files_upload(self, path: str, content: bytes, overwrite: bool = True) -> None:
        """``PUT /api/2.0/fs/files{path}`` with the raw bytes."""
        self.raw_request(
            "PUT",
            f"2.0/fs/files{files_api_path(path)}",
            data=content,
            params={"overwrite": "true" if overwrite else "false"},
            headers={"Content-Type": "application/octet-stream"},
        )

    def files_download(self, path: str) -> bytes:
        """``GET /api/2.0/fs/files{path}``: the file's bytes."""
        return self.raw_request("GET", f"2.0/fs/files{files_api_path(path)}").content

    # ---------------------------------------------------------------- raw requests, with the hook's auth
    def raw_request(
        self,
        method: str,
        endpoint: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        missing_ok: bool = False,
    ) -> RawResponse:
        """A request the provider's ``_do_api_call`` cannot make (PUT/HEAD, bytes in or out).

        Same URL building, token/basic auth, AAD headers, user agent, timeout, proxies and retry policy
        as the provider; a non-2xx answer raises :class:`~airbricks.errors.DatabricksRequestError`, except a 404 with
        ``missing_ok`` (returned as it is: ``status == 404``).
        """
        endpoint = normalize_endpoint(endpoint)
        url = _provider.url(self, f"api/{endpoint}")
        auth = _provider.requests_auth(self)
        all_headers = {**_provider.headers(self), **(headers or {})}
        where = f"{method} {endpoint}"
        try:
            for attempt in _provider.retrying(self):
                with attempt:
                    resp = requests.request(
                        method,
                        url,
                        params=params,
                        json=json,
                        data=data,
                        auth=auth,
                        headers=all_headers,
                        timeout=self.timeout_seconds,
                        **_provider.requests_kwargs(self),
                    )
                    if not (missing_ok and resp.status_code == 404):
                        resp.raise_for_status()
                    return RawResponse(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.content)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            answer: requests.Response | None = getattr(last, "response", None)
            if answer is not None:
                raise error_from_body(answer.status_code, answer.content, where) from None
            raise gave_up(self.retry_limit, last, where) from None
        except requests.HTTPError as exc:
            assert exc.response is not None  # raise_for_status() always gives it the response
            raise error_from_body(exc.response.status_code, exc.response.content, where) from None
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.asynccontextmanager
    async def shared_session(self) -> AsyncIterator[None]:
        """Use the session shared by every airbricks trigger waiting in this event loop.

        Airflow's triggerer runs all triggers in one loop: sharing one ``aiohttp`` session gives them one pool
        of keep-alive connections instead of a socket (and a TLS handshake, on a real workspace) per waiting
        task. The session closes when its last user leaves.
        """
        loop = asyncio.get_running_loop()
        shared = _SHARED_SESSIONS.get(loop)
        if shared is None or shared.session.closed:
            shared = _SharedSession(aiohttp.ClientSession())
            _SHARED_SESSIONS[loop] = shared
        shared.users += 1
        _provider.set_session(self, shared.session)
        try:
            yield
        finally:
            _provider.set_session(self, None)
            shared.users -= 1
            if shared.users == 0:
                _SHARED_SESSIONS.pop(loop, None)
                await shared.session.close()

    async def a_raw_request(
        self,
        method: str,
        endpoint: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> RawResponse:
        """Async :meth:`raw_request` (aiohttp), for triggers; the error body is kept, unlike the provider's."""
        await _provider.a_load_connection(self)
        endpoint = normalize_endpoint(endpoint)
        url = _provider.url(self, f"api/{endpoint}")
        auth = await _provider.a_aiohttp_auth(self)
        headers = await _provider.a_headers(self)
        where = f"{method} {endpoint}"
        failed: tuple[int, bytes] | None = None
        try:
            async with _provider.a_session(self) as session:
                async for attempt in _provider.a_retrying(self):
                    with attempt:
                        async with session.request(
                            method,
                            url,
                            params=params,
                            json=json,
                            auth=auth,
                            headers=headers,
                            timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                            **_provider.aiohttp_kwargs(self, url),
                        ) as resp:
                            body = await resp.read()
                            if resp.status >= 400 and not (missing_ok and resp.status == 404):
                                failed = (resp.status, body)
                                resp.raise_for_status()
                            return RawResponse(resp.status, {k.lower(): v for k, v in resp.headers.items()}, body)
        except RetryError as exc:
            if failed is not None:
                raise error_from_body(failed[0], failed[1], where) from None
            raise gave_up(self.retry_limit, exc.last_attempt.exception(), where) from None
        except aiohttp.ClientResponseError:
            assert failed is not None
            raise error_from_body(failed[0], failed[1], where) from None
        raise AssertionError("unreachable")  # pragma: no cover
