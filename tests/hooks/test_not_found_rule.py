"""One "not found" rule (``DatabricksRequestError.is_not_found``) for the delete operators and the file waits."""

from __future__ import annotations

import asyncio

import pytest

from airbricks.errors import DatabricksRequestError
from airbricks.utils.files import FileTarget

MISSING_FILE = DatabricksRequestError(404, "RESOURCE_DOES_NOT_EXIST", "No file or directory exists on path /x.")
MISSING_VOLUME_FILE = DatabricksRequestError(404, "", "no response body")  # a Files API HEAD: no body
MISSING_DIRECTORY = DatabricksRequestError(404, "NOT_FOUND", "The directory being accessed is not found: /x.")
MISSING_CLUSTER = DatabricksRequestError(400, "INVALID_PARAMETER_VALUE", "Cluster 0101-abc does not exist")
BAD_PATH = DatabricksRequestError(400, "INVALID_PARAMETER_VALUE", "Invalid path /Volumes/only_catalog/x")
FORBIDDEN = DatabricksRequestError(403, "PERMISSION_DENIED", "User cannot read /x")
GAVE_UP = DatabricksRequestError(None, "", "gave up after 3 attempts: ConnectionError")


@pytest.mark.parametrize(
    ("error", "not_found"),
    [
        (MISSING_FILE, True),
        (MISSING_VOLUME_FILE, True),
        (MISSING_DIRECTORY, True),
        (MISSING_CLUSTER, True),
        (BAD_PATH, False),
        (FORBIDDEN, False),
        (GAVE_UP, False),
    ],
)
def test_is_not_found(error: DatabricksRequestError, not_found: bool) -> None:
    assert error.is_not_found is not_found


class _FailingHook:
    """Answers every DBFS / Files API look-up with one error, sync and async."""

    def __init__(self, error: DatabricksRequestError) -> None:
        self.error = error

    def __getattr__(self, name: str):
        if name.startswith("a_"):

            async def fail(*args: object, **kwargs: object) -> None:
                raise self.error

            return fail

        def fail_sync(*args: object, **kwargs: object) -> None:
            raise self.error

        return fail_sync


@pytest.mark.parametrize(
    "path", ["dbfs:/landing/_SUCCESS", "/landing/part-*", "/Volumes/c/s/v/_SUCCESS", "/Volumes/c/s/v/batch_*"]
)
@pytest.mark.parametrize("error", [MISSING_FILE, MISSING_VOLUME_FILE, MISSING_DIRECTORY])
def test_a_missing_file_keeps_the_sensor_and_the_trigger_waiting(path: str, error: DatabricksRequestError) -> None:
    target, hook = FileTarget.parse(path), _FailingHook(error)
    assert target.find(hook, None) is None  # type: ignore[arg-type]
    assert asyncio.run(target.a_find(hook, None)) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("error", [BAD_PATH, FORBIDDEN, GAVE_UP])
def test_any_other_error_fails_the_sensor_and_the_trigger(error: DatabricksRequestError) -> None:
    target, hook = FileTarget.parse("/Volumes/c/s/v/_SUCCESS"), _FailingHook(error)
    with pytest.raises(DatabricksRequestError) as sync_err:
        target.find(hook, None)  # type: ignore[arg-type]
    with pytest.raises(DatabricksRequestError) as async_err:
        asyncio.run(target.a_find(hook, None))  # type: ignore[arg-type]
    assert sync_err.value is error and async_err.value is error
