"""Databricks errors as values: :class:`DatabricksRequestError` and the one rule for "not found".

Kept apart from :mod:`airbricks.hooks` so that code which only needs to *judge* an error (the file
sensor's ``FileTarget``, imported while DAG files are parsed) does not import the provider's hook.
"""

from __future__ import annotations

import json as jsonlib
import re
from typing import Any

from airflow.providers.databricks.exceptions import DatabricksApiError
from tenacity import RetryError

#: Error codes meaning "that thing is not there": a missing file or directory (DBFS, Files API).
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
        """The one "not found" rule of airbricks (delete operators, file sensor and trigger all use it).

        Missing: any 404 (a Files API ``HEAD`` has no body to carry a code), a ``RESOURCE_DOES_NOT_EXIST`` /
        ``NOT_FOUND`` code (a missing file or directory), or what Databricks answers for a missing
        cluster/job/run: 400 ``INVALID_PARAMETER_VALUE`` "Cluster <id> does not exist".  Every other error
        (a bad path, a permission, a 5xx that outlived the retries) is a real failure.
        """
        if self.error_code in NOT_FOUND_CODES or self.status == 404:
            return True
        return self.error_code == "INVALID_PARAMETER_VALUE" and "does not exist" in self.message


def error_from_body(status: int | None, body: str | bytes, endpoint: str) -> DatabricksRequestError:
    """The typed error for an HTTP answer: Databricks' JSON ``error_code``/``message``, or the raw text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = jsonlib.loads(text) if text else {}
    except ValueError:
        data = {}
    if isinstance(data, dict) and ("error_code" in data or "message" in data):
        return DatabricksRequestError(status, str(data.get("error_code", "")), str(data.get("message", "")), endpoint)
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
        return error_from_body(response.status_code, response.content, endpoint)
    match = _PROVIDER_ERROR.match(str(exc))
    if match:
        return error_from_body(int(match["status"]), match["body"], endpoint)
    return DatabricksRequestError(getattr(exc, "http_status_code", None), "", str(exc), endpoint)


def gave_up(retry_limit: int, last: BaseException | None, endpoint: str) -> DatabricksRequestError:
    """The error for retries exhausted without an HTTP answer (connection refused, timeouts...)."""
    return DatabricksRequestError(None, "", f"gave up after {retry_limit} attempts: {type(last).__name__}", endpoint)
