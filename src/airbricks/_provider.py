"""The one place airbricks touches private parts of the provider's ``DatabricksHook``.

Why this module exists: :class:`~airbricks.hooks.AirbricksDatabricksHook` reuses the provider's
authentication (token, basic, AAD/OAuth headers), retry policy, proxies and connection cache instead of
building a second HTTP client.  Those live in underscore members of the provider's hook, which are not a
public API and may change between provider releases.  Every such use is a function here, and
:data:`PRIVATE_MEMBERS` lists each member relied on, with how it is called.
``tests/hooks/test_provider_contract.py`` checks that list against the installed provider (and that
nothing in :mod:`airbricks` reaches for a provider-private member outside this module): when a provider
release breaks it, that test names the member and the version, and this module is the one place to fix.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from airflow.providers.databricks.hooks.databricks_base import BearerAuth, _TokenAuth
from requests.auth import AuthBase, HTTPBasicAuth

if TYPE_CHECKING:
    from airflow.providers.databricks.hooks.databricks import DatabricksHook
    from tenacity import AsyncRetrying, Retrying

#: Where the provider defines the private names imported here (``_TokenAuth``).
PROVIDER_BASE_MODULE = "airflow.providers.databricks.hooks.databricks_base"


@dataclass(frozen=True)
class Member:
    """A provider member this module relies on, and how.

    :param name: the attribute name on ``DatabricksHook`` (or in :data:`PROVIDER_BASE_MODULE` for a class).
    :param kind: ``method`` (a plain callable), ``coroutine`` (an ``async def``), ``property`` (a
        ``cached_property``/``property``), ``attribute`` (set on the instance by ``async with hook``) or
        ``class``.
    :param args: the positional arguments this module passes, by the provider's parameter names; the
        contract test checks the call still binds with exactly these.
    """

    name: str
    kind: Literal["method", "coroutine", "property", "attribute", "class"]
    args: tuple[str, ...] = ()


#: Every private provider member used below (the contract test also checks this list is complete).
PRIVATE_MEMBERS: tuple[Member, ...] = (
    Member("_do_api_call", "method", ("endpoint_info", "json")),
    Member("_a_do_api_call", "coroutine", ("endpoint_info", "json")),
    Member("_endpoint_url", "method", ("endpoint",)),
    Member("_get_token", "method"),
    Member("_a_get_token", "coroutine"),
    Member("_get_connection_attr", "method", ("attr_name",)),
    Member("_get_aad_headers", "method"),
    Member("_a_get_aad_headers", "coroutine"),
    Member("_get_retry_object", "method"),
    Member("_a_get_retry_object", "method"),
    Member("_get_requests_kwargs", "method"),
    Member("_get_aiohttp_kwargs", "method", ("url",)),
    Member("_a_cache_databricks_conn", "coroutine"),
    Member("_session", "attribute"),  # the aiohttp session ``async with hook`` opens; _a_do_api_call uses it
    Member("_TokenAuth", "class", ("token",)),
)
#: Public-looking but undocumented members used below, checked by the contract test as well.
UNDOCUMENTED_MEMBERS: tuple[Member, ...] = (
    Member("databricks_conn", "property"),
    Member("user_agent_header", "property"),
)


# ------------------------------------------------------------------ JSON calls (the provider's own client)
def api_call(hook: DatabricksHook, method: str, endpoint: str, json: dict[str, Any] | None) -> Any:
    """The provider's JSON call (``endpoint`` like ``2.0/clusters/get``); raises its ``DatabricksApiError``."""
    return hook._do_api_call((method, endpoint), json)


async def a_api_call(hook: DatabricksHook, method: str, endpoint: str, json: dict[str, Any] | None) -> Any:
    """Async :func:`api_call`; needs the hook's session (:func:`a_session`)."""
    return await hook._a_do_api_call((method, endpoint), json)


# ------------------------------------------------------------------ what a raw request needs
def url(hook: DatabricksHook, path: str) -> str:
    """The workspace URL of ``path`` (``api/2.0/...``), from the connection's host, schema and port."""
    return hook._endpoint_url(path)


def requests_auth(hook: DatabricksHook) -> AuthBase:
    """The provider's ``requests`` auth: its token (PAT, AAD, OAuth...) or the login/password."""
    token = hook._get_token()
    if token:
        return _TokenAuth(token)
    return HTTPBasicAuth(hook._get_connection_attr("login"), hook.databricks_conn.password)


async def a_aiohttp_auth(hook: DatabricksHook) -> aiohttp.BasicAuth:
    """Async :func:`requests_auth`, for ``aiohttp``; the connection must be loaded (:func:`a_load_connection`)."""
    token = await hook._a_get_token()
    if token:
        return BearerAuth(token)
    return aiohttp.BasicAuth(hook._get_connection_attr("login"), hook.databricks_conn.password)


def headers(hook: DatabricksHook) -> dict[str, str]:
    """The user agent and, for Azure AD service principals, the AAD headers the provider sends."""
    return {**hook.user_agent_header, **hook._get_aad_headers()}


async def a_headers(hook: DatabricksHook) -> dict[str, str]:
    """Async :func:`headers`."""
    return {**hook.user_agent_header, **(await hook._a_get_aad_headers())}


def retrying(hook: DatabricksHook) -> Retrying:
    """A fresh ``tenacity.Retrying`` with the provider's policy (retry limit/delay, retryable errors)."""
    return hook._get_retry_object()


def a_retrying(hook: DatabricksHook) -> AsyncRetrying:
    """Async :func:`retrying`."""
    return hook._a_get_retry_object()


def requests_kwargs(hook: DatabricksHook) -> dict[str, Any]:
    """Extra ``requests`` arguments from the connection (its ``proxies``)."""
    return hook._get_requests_kwargs()


def aiohttp_kwargs(hook: DatabricksHook, request_url: str) -> dict[str, Any]:
    """Extra ``aiohttp`` arguments for ``request_url`` from the connection (its proxy)."""
    return hook._get_aiohttp_kwargs(request_url)


async def a_load_connection(hook: DatabricksHook) -> None:
    """Fill the hook's connection cache without the sync ``get_connection`` (not allowed in an event loop)."""
    await hook._a_cache_databricks_conn()


# ------------------------------------------------------------------ the async session
def set_session(hook: DatabricksHook, session: aiohttp.ClientSession | None) -> None:
    """Make the provider's async calls on ``hook`` use ``session`` (``None``: none until the next one)."""
    hook._session = session


@contextlib.asynccontextmanager
async def a_session(hook: DatabricksHook) -> AsyncIterator[aiohttp.ClientSession]:
    """The hook's open session (``async with hook:`` or a shared one), or one opened and closed around the block."""
    current = getattr(hook, "_session", None)
    if current is not None:
        yield current
        return
    async with hook:
        yield hook._session
