"""Databricks API errors as exceptions: one class per ``error_code``, turned into the wire body in one place.

Models raise these; the HTTP layer renders ``{"error_code": ..., "message": ...}`` with the class's status.
Codes and statuses follow the real REST API (and what ``databricks.sdk.errors`` maps them to).
"""

from __future__ import annotations

from typing import Any


class DatabricksError(Exception):
    """Base class: an API error with its HTTP status and Databricks ``error_code``."""

    status_code: int = 500
    error_code: str = "INTERNAL_ERROR"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message, **self.details}


class InvalidParameterValue(DatabricksError):
    status_code = 400
    error_code = "INVALID_PARAMETER_VALUE"


class MalformedRequest(DatabricksError):
    status_code = 400
    error_code = "MALFORMED_REQUEST"


class InvalidState(DatabricksError):
    status_code = 400
    error_code = "INVALID_STATE"


class ResourceAlreadyExists(DatabricksError):
    status_code = 400
    error_code = "RESOURCE_ALREADY_EXISTS"


class MaxBlockSizeExceeded(DatabricksError):
    status_code = 400
    error_code = "MAX_BLOCK_SIZE_EXCEEDED"


class MaxReadSizeExceeded(DatabricksError):
    status_code = 400
    error_code = "MAX_READ_SIZE_EXCEEDED"


class IoError(DatabricksError):
    """DBFS' answer for file-system failures such as deleting a non-empty directory without ``recursive``."""

    status_code = 400
    error_code = "IO_ERROR"


class DirectoryNotEmpty(DatabricksError):
    status_code = 400
    error_code = "DIRECTORY_NOT_EMPTY"


class MaxNotebookSizeExceeded(DatabricksError):
    status_code = 400
    error_code = "MAX_NOTEBOOK_SIZE_EXCEEDED"


class AlreadyExists(DatabricksError):
    """The Files API's (``/api/2.0/fs``) conflict code; DBFS and Workspace use RESOURCE_ALREADY_EXISTS (400)."""

    status_code = 409
    error_code = "ALREADY_EXISTS"


class ResourceDoesNotExist(DatabricksError):
    status_code = 404
    error_code = "RESOURCE_DOES_NOT_EXIST"


class NotFound(DatabricksError):
    status_code = 404
    error_code = "NOT_FOUND"


class CatalogDoesNotExist(DatabricksError):
    """Unity Catalog's code for a missing catalog (the SDK maps 404 to NotFound)."""

    status_code = 404
    error_code = "CATALOG_DOES_NOT_EXIST"


class SchemaDoesNotExist(DatabricksError):
    status_code = 404
    error_code = "SCHEMA_DOES_NOT_EXIST"


class TableDoesNotExist(DatabricksError):
    status_code = 404
    error_code = "TABLE_DOES_NOT_EXIST"


class CatalogAlreadyExists(DatabricksError):
    status_code = 409
    error_code = "CATALOG_ALREADY_EXISTS"


class SchemaAlreadyExists(DatabricksError):
    status_code = 409
    error_code = "SCHEMA_ALREADY_EXISTS"


class EndpointNotFound(DatabricksError):
    status_code = 404
    error_code = "ENDPOINT_NOT_FOUND"


class Unauthenticated(DatabricksError):
    status_code = 401
    error_code = "UNAUTHENTICATED"


class PermissionDenied(DatabricksError):
    status_code = 403
    error_code = "PERMISSION_DENIED"


class Conflict(DatabricksError):
    status_code = 409
    error_code = "RESOURCE_CONFLICT"


class RequestLimitExceeded(DatabricksError):
    status_code = 429
    error_code = "REQUEST_LIMIT_EXCEEDED"


class InternalError(DatabricksError):
    status_code = 500
    error_code = "INTERNAL_ERROR"


class NotImplementedOnLocal(DatabricksError):
    status_code = 501
    error_code = "NOT_IMPLEMENTED"


class TemporarilyUnavailable(DatabricksError):
    status_code = 503
    error_code = "TEMPORARILY_UNAVAILABLE"


def does_not_exist(kind: str, ident: object) -> InvalidParameterValue:
    """The real service's answer for a missing cluster/job/run: 400, not 404 (the SDK still maps it to
    ``ResourceDoesNotExist`` from the message)."""
    return InvalidParameterValue(f"{kind} {ident} does not exist")


_BY_CODE: dict[str, type[DatabricksError]] = {
    cls.error_code: cls
    for cls in DatabricksError.__subclasses__()  # one level is all there is
}


def error_for_code(error_code: str, message: str, status_code: int | None = None) -> DatabricksError:
    """Build the error a fault rule asks for by its code; unknown codes keep the given status."""
    cls = _BY_CODE.get(error_code)
    if cls is None:
        err: DatabricksError = DatabricksError(message)
        err.error_code = error_code
        err.status_code = status_code or 500
        return err
    err = cls(message)
    if status_code is not None:
        err.status_code = status_code
    return err
