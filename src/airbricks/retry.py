"""One retry policy for Databricks API calls: ride out rate limits, 503s and dropped connections for minutes.

Why: the provider's default is 3 attempts with waits of 1, 2 s, so a rate-limit burst of a few seconds - routine
on a real workspace - fails the task with ``429 Client Error: Too Many Requests`` and no ``Retry-After``
honoured (measured in the chaos run: DAG runs failed by one 429 on ``jobs/runs/get``).  This module is the one
documented value for every Databricks call a DAG makes:

* :data:`DATABRICKS_RETRY_ARGS` - ``databricks_retry_args`` for the official operators (``tenacity`` arguments):
  retry for up to :data:`RIDE_OUT_SECONDS` (10 minutes), waiting what the server's ``Retry-After`` says (capped
  at :data:`MAX_WAIT_SECONDS`) or else exponentially with jitter (1 s doubling to 30 s).  The provider keeps
  its own choice of *what* is retryable: connection errors, timeouts, 5xx, 429.
* :func:`databricks_retry` - the keyword arguments to pass (``**databricks_retry()``), also for
  ``deferrable=True``: a deferred operator hands its retry settings to the triggerer, and the provider refuses
  callables there (they cannot be serialized), so deferrable mode gets the count-based equivalent,
  :data:`RIDE_OUT_ATTEMPTS` attempts with exponential waits from 1 s (about 8.5 minutes in all).
* airbricks' own operators and triggers use :data:`DATABRICKS_RETRY_ARGS` unless given an explicit
  ``databricks_retry_limit``/``databricks_retry_delay`` (:mod:`airbricks.operators.base`).

A permanent error (400, 403, 404...) is never retried: it fails at once with Databricks' error code.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

from tenacity import RetryCallState, stop_after_delay, wait_exponential_jitter
from tenacity.wait import wait_base

#: How long a call keeps retrying a transient fault before the task fails with the last error.
RIDE_OUT_SECONDS = 600.0
#: The longest single wait, whatever ``Retry-After`` asks for.
MAX_WAIT_SECONDS = 60.0
#: Deferrable mode's count-based equivalent: waits of 1, 2, 4 ... 256 s between 10 attempts (about 8.5 min).
RIDE_OUT_ATTEMPTS = 10


def retry_after_seconds(exc: BaseException | None, now: float | None = None) -> float | None:
    """The ``Retry-After`` of a failed HTTP answer (``requests`` or ``aiohttp``), in seconds; ``None`` if absent.

    Accepts both forms the header may take: a number of seconds and an HTTP date.
    """
    if exc is None:
        return None
    headers = getattr(getattr(exc, "response", None), "headers", None)  # requests.HTTPError
    if headers is None:
        headers = getattr(exc, "headers", None)  # aiohttp.ClientResponseError
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class wait_retry_after(wait_base):
    """Wait what the server's ``Retry-After`` says (capped), else ``fallback``'s wait."""

    def __init__(self, fallback: wait_base | None = None, max_wait: float = MAX_WAIT_SECONDS) -> None:
        self.fallback = fallback or wait_exponential_jitter(initial=1, max=30)
        self.max_wait = max_wait

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        asked = retry_after_seconds(exc)
        if asked is not None:
            return min(self.max_wait, asked)
        return float(self.fallback(retry_state))


def databricks_retry_args(
    ride_out_seconds: float = RIDE_OUT_SECONDS, max_wait_seconds: float = MAX_WAIT_SECONDS
) -> dict[str, Any]:
    """``tenacity`` arguments for ``databricks_retry_args``: retry for ``ride_out_seconds``, honouring
    ``Retry-After``.  (The provider adds what to retry and the logging of each failed attempt.)"""
    return {
        "stop": stop_after_delay(ride_out_seconds),
        "wait": wait_retry_after(max_wait=max_wait_seconds),
        "reraise": False,
    }


#: The shared value: ``DatabricksSubmitRunOperator(..., databricks_retry_args=DATABRICKS_RETRY_ARGS)``.
DATABRICKS_RETRY_ARGS: dict[str, Any] = databricks_retry_args()


def databricks_retry(deferrable: bool | None = None) -> dict[str, Any]:
    """The retry keyword arguments for an official Databricks operator: ``Operator(..., **databricks_retry())``.

    :param deferrable: the operator runs deferrable: its retry settings travel to the triggerer, where only
        plain numbers are accepted, so the count-based equivalent is returned.  ``None``: the operators'
        default, ``[operators] default_deferrable``.
    """
    if deferrable is None:
        from airflow.providers.common.compat.sdk import conf

        deferrable = conf.getboolean("operators", "default_deferrable", fallback=False)
    if deferrable:
        return {
            "databricks_retry_limit": RIDE_OUT_ATTEMPTS,
            "databricks_retry_delay": 1.0,
            "databricks_retry_args": None,
        }
    return {"databricks_retry_args": DATABRICKS_RETRY_ARGS}
