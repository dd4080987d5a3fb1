"""Typed helpers on top of the official provider's ``DatabricksHook``.

The provider's hook knows jobs, runs and cluster state, but not cluster creation/deletion, DBFS or the
Files API, and its errors are plain text. :class:`AirbricksDatabricksHook` adds those calls, sync and
async, reusing the provider's authentication, retry policy, timeouts, proxies and user agent: there is
no second HTTP client with its own idea of auth.  Errors come back as :class:`DatabricksRequestError`
with Databricks' ``error_code`` and ``message`` parsed out, and never contain the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import re
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import AirflowException
from airflow.providers.databricks.exceptions import DatabricksApiError
from airflow.providers.databricks.hooks.databricks import DatabricksHook
from tenacity import RetryError

CLUSTERS_API = "2.1/clusters"
#: Cluster states from which a cluster becomes (or is) usable without a new ``clusters/create``.
USABLE_CLUSTER_STATES = frozenset({"PENDING", "RUNNING", "RESTARTING", "RESIZING"})
#: Error codes meaning "that thing is not there": a missing file, or a missing cluster/job/run.
NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"})

_PROVIDER_ERROR = re.compile(r"^Response: (?P<body>.*), Status Code: (?P<status>\d+)$", re.DOTALL)


class DatabricksRequestError(DatabricksApiError):
    """A Databricks REST call answered with an error.

    :param status: the HTTP status (``None`` when the call never got an answer).
    :param error_code: Databricks' ``error_code`` (e.g. ``INVALID_PARAMETER_VALUE``), or ``""``.
    :param message: Databricks' ``message``, or the raw body when it was not a Databricks error.
    :param endpoint: the ``METHOD path`` that failed, for the reader of the log.
    """

    def __init__(self, status: int | None, error_code: str, message: str, endpoint: str = "") -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        self.endpoint = endpoint
        where = f"{endpoint}: " if endpoint else ""
        code = f"{error_code}: " if error_code else ""
        super().__init__(f"{where}{code}{message} (HTTP {status})", http_status_code=status)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle with the constructor's own arguments (the default would pass only the formatted text).
        return (type(self), (self.status, self.error_code, self.message, self.endpoint))

    @property
    def is_not_found(self) -> bool:
        """A missing file/path (404 codes), or a missing cluster/job/run ("... does not exist")."""
        if self.error_code in NOT_FOUND_CODES or self.status == 404:
            return True
        return self.error_code == "INVALID_PARAMETER_VALUE" and "does not exist" in self.message


def _from_body(status: int | None, body: str | bytes, endpoint: str) -> DatabricksRequestError:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = jsonlib.loads(text) if text else {}
    except ValueError:
        data = {}
    if isinstance(data, dict) and ("error_code" in data or "message" in data):
        return DatabricksRequestError(status, str(data.get("error_code", "")), str(data.get("message", "")),
                                      endpoint)
    return DatabricksRequestError(status, "", text.strip() or "no response body", endpoint)


def parse_api_error(exc: BaseException, endpoint: str = "") -> DatabricksRequestError:
    """Turn the provider's ``DatabricksApiError`` (text ``Response: <body>, Status Code: <n>``) into a typed one.

    The HTTP response itself is read when it is still attached (``__cause__``): the async path of the
    provider keeps only the reason phrase in the text.
    """
    if isinstance(exc, DatabricksRequestError):
        return exc
    cause = exc.__cause__
    if isinstance(cause, RetryError):  # the provider gave up after its retries: the last answer says why
        cause = cause.last_attempt.exception()
    response = getattr(cause, "response", None)
    if response is not None and getattr(response, "content", None) is not None:
        return _from_body(response.status_code, response.content, endpoint)
    match = _PROVIDER_ERROR.match(str(exc))
    if match:
        return _from_body(int(match["status"]), match["body"], endpoint)
    return DatabricksRequestError(getattr(exc, "http_status_code", None), "", str(exc), endpoint)


def normalize_endpoint(endpoint: str) -> str:
    """``"api/2.0/x"``, ``"/api/2.0/x"`` and ``"2.0/x"`` all name ``2.0/x`` (the hook prepends ``api/``)."""
    endpoint = endpoint.strip().lstrip("/")
    if endpoint.startswith("api/"):
        endpoint = endpoint[len("api/"):]
    if not re.match(r"^\d+\.\d+/", endpoint):
        raise ValueError(
            f"endpoint {endpoint!r} must start with an API version, e.g. '2.0/clusters/get' or "
            "'api/2.0/clusters/get'"
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
            return _json_or_empty(resp.content)
        try:
            result = self._do_api_call((method, endpoint), json)
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
            async with self._a_session():
                result = await self._a_do_api_call((method, endpoint), json)
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
        return self._endpoint_url("").rstrip("/")

    # ---------------------------------------------------------------- DBFS
    def dbfs_get_status(self, path: str) -> dict[str, Any]:
        """``dbfs/get-status``: ``{path, is_dir, file_size, modification_time}``."""
        return self.call("GET", "2.0/dbfs/get-status", {"path": path})

    async def a_dbfs_get_status(self, path: str) -> dict[str, Any]:
        return await self.a_call("GET", "2.0/dbfs/get-status", {"path": path})

    def dbfs_list(self, path: str) -> list[dict[str, Any]]:
        """``dbfs/list`` of a directory (an empty directory lists nothing)."""
        return list(self.call("GET", "2.0/dbfs/list", {"path": path}).get("files", []))

    async def a_dbfs_list(self, path: str) -> list[dict[str, Any]]:
        return list((await self.a_call("GET", "2.0/dbfs/list", {"path": path})).get("files", []))

    # ---------------------------------------------------------------- Files API (Volumes)
    def files_head(self, path: str) -> dict[str, Any]:
        """``HEAD /api/2.0/fs/files{path}``: ``{path, file_size, modification_time}`` (ms since epoch)."""
        resp = self.raw_request("HEAD", f"2.0/fs/files{files_api_path(path)}")
        return _file_metadata(path, resp.headers)

    async def a_files_head(self, path: str) -> dict[str, Any]:
        resp = await self.a_raw_request("HEAD", f"2.0/fs/files{files_api_path(path)}")
        return _file_metadata(path, resp.headers)

    def files_list_directory(self, path: str) -> list[dict[str, Any]]:
        """``GET /api/2.0/fs/directories{path}``, all pages: entries ``{path, is_directory, file_size, last_modified, name}``."""
        entries: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        while True:
            resp = self.raw_request("GET", f"2.0/fs/directories{files_api_path(path)}", params=params)
            page = _json_or_empty(resp.content)
            entries.extend(page.get("contents", []))
            if not page.get("next_page_token"):
                return entries
            params = {"page_token": page["next_page_token"]}

    async def a_files_list_directory(self, path: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        while True:
            resp = await self.a_raw_request("GET", f"2.0/fs/directories{files_api_path(path)}", params=params)
            page = _json_or_empty(resp.content)
            entries.extend(page.get("contents", []))
            if not page.get("next_page_token"):
                return entries
            params = {"page_token": page["next_page_token"]}

    def files_upload(self, path: str, content: bytes, overwrite: bool = True) -> None:
        """``PUT /api/2.0/fs/files{path}`` with the raw bytes."""
        self.raw_request("PUT", f"2.0/fs/files{files_api_path(path)}", data=content,
                         params={"overwrite": "true" if overwrite else "false"},
                         headers={"Content-Type": "application/octet-stream"})

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
    ) -> RawResponse:
        """A request the provider's ``_do_api_call`` cannot make (PUT/HEAD, bytes in or out).

        Same URL building, token/basic auth, AAD headers, user agent, timeout, proxies and retry policy
        as the provider; a non-2xx answer raises :class:`DatabricksRequestError`.
        """
        import requests
        from airflow.providers.databricks.hooks.databricks_base import _TokenAuth
        from requests.auth import HTTPBasicAuth
        from tenacity import RetryError

        endpoint = normalize_endpoint(endpoint)
        url = self._endpoint_url(f"api/{endpoint}")
        token = self._get_token()
        auth: Any = (_TokenAuth(token) if token
                     else HTTPBasicAuth(self._get_connection_attr("login"), self.databricks_conn.password))
        all_headers = {**self.user_agent_header, **self._get_aad_headers(), **(headers or {})}
        where = f"{method} {endpoint}"
        try:
            for attempt in self._get_retry_object():
                with attempt:
                    resp = requests.request(
                        method, url, params=params, json=json, data=data, auth=auth, headers=all_headers,
                        timeout=self.timeout_seconds, **self._get_requests_kwargs(),
                    )
                    resp.raise_for_status()
                    return RawResponse(resp.status_code, {k.lower(): v for k, v in resp.headers.items()},
                                       resp.content)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            if last is not None and getattr(last, "response", None) is not None:
                raise _from_body(last.response.status_code, last.response.content, where) from None
            raise DatabricksRequestError(None, "", f"gave up after {self.retry_limit} attempts: "
                                         f"{type(last).__name__}", where) from None
        except requests.HTTPError as exc:
            raise _from_body(exc.response.status_code, exc.response.content, where) from None
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.asynccontextmanager
    async def shared_session(self) -> AsyncIterator[None]:
        """Use the session shared by every airbricks trigger waiting in this event loop.

        Airflow's triggerer runs all triggers in one loop: sharing one ``aiohttp`` session gives them one pool
        of keep-alive connections instead of a socket (and a TLS handshake, on a real workspace) per waiting
        task. The session closes when its last user leaves.
        """
        import aiohttp

        loop = asyncio.get_running_loop()
        shared = _SHARED_SESSIONS.get(loop)
        if shared is None or shared.session.closed:
            shared = _SharedSession(aiohttp.ClientSession())
            _SHARED_SESSIONS[loop] = shared
        shared.users += 1
        self._session = shared.session
        try:
            yield
        finally:
            self._session = None
            shared.users -= 1
            if shared.users == 0:
                _SHARED_SESSIONS.pop(loop, None)
                await shared.session.close()

    @contextlib.asynccontextmanager
    async def _a_session(self) -> AsyncIterator[None]:
        """The caller's open session (``async with hook:``), or one opened and closed around this call."""
        if getattr(self, "_session", None) is not None:
            yield
            return
        async with self:
            yield

    async def a_raw_request(
        self,
        method: str,
        endpoint: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> RawResponse:
        """Async :meth:`raw_request` (aiohttp), for triggers; the error body is kept, unlike the provider's."""
        import aiohttp
        from airflow.providers.databricks.hooks.databricks_base import BearerAuth
        from tenacity import RetryError

        await self._a_cache_databricks_conn()
        endpoint = normalize_endpoint(endpoint)
        url = self._endpoint_url(f"api/{endpoint}")
        token = await self._a_get_token()
        auth: aiohttp.BasicAuth = (BearerAuth(token) if token else
                                   aiohttp.BasicAuth(self._get_connection_attr("login"),
                                                     self.databricks_conn.password))
        headers = {**self.user_agent_header, **(await self._a_get_aad_headers())}
        where = f"{method} {endpoint}"
        failed: tuple[int, bytes] | None = None
        try:
            async with self._a_session():
                session = self._session
                async for attempt in self._a_get_retry_object():
                    with attempt:
                        async with session.request(
                            method, url, params=params, json=json, auth=auth, headers=headers,
                            timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                            **self._get_aiohttp_kwargs(url),
                        ) as resp:
                            body = await resp.read()
                            if resp.status >= 400:
                                failed = (resp.status, body)
                                resp.raise_for_status()
                            return RawResponse(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                                               body)
        except RetryError as exc:
            if failed is not None:
                raise _from_body(failed[0], failed[1], where) from None
            last = exc.last_attempt.exception()
            raise DatabricksRequestError(None, "", f"gave up after {self.retry_limit} attempts: "
                                         f"{type(last).__name__}", where) from None
        except aiohttp.ClientResponseError:
            assert failed is not None
            raise _from_body(failed[0], failed[1], where) from None
        raise AssertionError("unreachable")  # pragma: no cover


def _json_or_empty(content: bytes) -> dict[str, Any]:
    if not content:
        return {}
    data = jsonlib.loads(content)
    return data if isinstance(data, dict) else {"result": data}


def _file_metadata(path: str, headers: dict[str, str]) -> dict[str, Any]:
    """Files API HEAD headers -> the same shape as a DBFS ``get-status`` answer."""
    from email.utils import parsedate_to_datetime

    modified = headers.get("last-modified")
    mtime = int(parsedate_to_datetime(modified).timestamp() * 1000) if modified else None
    return {"path": path, "is_dir": False, "file_size": int(headers.get("content-length", 0) or 0),
            "modification_time": mtime}
