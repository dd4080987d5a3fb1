"""The Secrets API over real HTTP with databricks-sdk: scopes, string and bytes secrets, ACLs enforced for a
second principal, the real error codes, and values that never sit in the data dir in plain text."""

from __future__ import annotations

import base64
import stat
import uuid
from collections.abc import Iterator

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (
    InvalidParameterValue,
    NotFound,
    NotImplemented,
    PermissionDenied,
    ResourceAlreadyExists,
)
from databricks.sdk.service.workspace import AclPermission, ScopeBackendType


@pytest.fixture
def scope(sdk: WorkspaceClient) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    sdk.secrets.create_scope(name)
    yield name
    sdk.secrets.delete_scope(name)


@pytest.fixture(scope="module")
def bot(sdk: WorkspaceClient, local_ws) -> Iterator[tuple[str, WorkspaceClient]]:
    """A second principal (a service principal) and a client acting as it, through the real OBO token API."""
    sp = sdk.service_principals.create(display_name=f"secrets-bot-{uuid.uuid4().hex[:6]}")
    token = sdk.token_management.create_obo_token(application_id=sp.application_id, lifetime_seconds=3600)
    yield sp.application_id, WorkspaceClient(host=local_ws.url, token=token.token_value, auth_type="pat")
    sdk.service_principals.delete(sp.id)


def _value(sdk: WorkspaceClient, scope: str, key: str) -> bytes:
    return base64.b64decode(sdk.secrets.get_secret(scope, key).value)


def test_scopes_and_secrets_crud_with_string_and_bytes(sdk: WorkspaceClient, scope: str) -> None:
    assert scope in {s.name for s in sdk.secrets.list_scopes()}
    assert {s.backend_type.value for s in sdk.secrets.list_scopes() if s.name == scope} == {"DATABRICKS"}
    sdk.secrets.put_secret(scope, "password", string_value="s3cr3t-Ünïcode")
    raw = bytes(range(256))
    sdk.secrets.put_secret(scope, "blob", bytes_value=base64.b64encode(raw).decode())
    assert _value(sdk, scope, "password") == "s3cr3t-Ünïcode".encode()
    assert _value(sdk, scope, "blob") == raw
    listed = list(sdk.secrets.list_secrets(scope))
    assert [s.key for s in listed] == ["blob", "password"] and all(s.last_updated_timestamp > 0 for s in listed)
    sdk.secrets.put_secret(scope, "password", string_value="rotated")
    assert _value(sdk, scope, "password") == b"rotated"
    sdk.secrets.delete_secret(scope, "blob")
    assert [s.key for s in sdk.secrets.list_secrets(scope)] == ["password"]
    with pytest.raises(NotFound, match="Secret does not exist with scope"):
        sdk.secrets.get_secret(scope, "blob")


def test_errors_are_the_real_ones(sdk: WorkspaceClient, scope: str) -> None:
    with pytest.raises(ResourceAlreadyExists, match=f"Scope {scope} already exists!"):
        sdk.secrets.create_scope(scope)
    with pytest.raises(NotFound, match="Scope no-such-scope does not exist!"):
        sdk.secrets.list_secrets("no-such-scope").__next__()
    with pytest.raises(InvalidParameterValue, match="alphanumeric"):
        sdk.secrets.create_scope("bad scope!")
    with pytest.raises(InvalidParameterValue, match="Exactly one of string_value and bytes_value"):
        sdk.secrets.put_secret(scope, "k")
    with pytest.raises(InvalidParameterValue, match="128 KB"):
        sdk.secrets.put_secret(scope, "big", string_value="x" * (128 * 1024 + 1))
    with pytest.raises(InvalidParameterValue, match="bytes_value"):
        sdk.api_client.do("POST", "/api/2.0/secrets/put", body={"scope": scope, "key": "k", "bytes_value": "!!"})
    with pytest.raises(InvalidParameterValue, match="scope_backend_type"):
        sdk.api_client.do("POST", "/api/2.0/secrets/scopes/create", body={"scope": "x", "scope_backend_type": "S3"})
    with pytest.raises(NotImplemented, match="Azure Key Vault-backed scopes are not available"):
        sdk.secrets.create_scope("kv", scope_backend_type=ScopeBackendType.AZURE_KEYVAULT)
    with pytest.raises(InvalidParameterValue, match="Missing required field: principal"):
        sdk.api_client.do(
            "POST", "/api/2.0/secrets/acls/put", body={"scope": scope, "principal": {}, "permission": "READ"}
        )
    with pytest.raises(InvalidParameterValue, match="READ, WRITE, MANAGE"):
        sdk.api_client.do(
            "POST", "/api/2.0/secrets/acls/put", body={"scope": scope, "principal": "users", "permission": "OWN"}
        )


def test_acls_are_enforced_for_a_second_principal(sdk: WorkspaceClient, scope: str, bot) -> None:
    app_id, as_bot = bot
    sdk.secrets.put_secret(scope, "db-password", string_value="p@ss")
    with pytest.raises(PermissionDenied, match=f"{app_id} does not have READ permission on scope {scope}"):
        as_bot.secrets.get_secret(scope, "db-password")
    with pytest.raises(PermissionDenied):
        list(as_bot.secrets.list_secrets(scope))
    assert scope in {s.name for s in as_bot.secrets.list_scopes()}  # listing scopes needs no permission

    sdk.secrets.put_acl(scope, app_id, AclPermission.READ)
    assert _value(as_bot, scope, "db-password") == b"p@ss"
    with pytest.raises(PermissionDenied, match="WRITE permission"):
        as_bot.secrets.put_secret(scope, "db-password", string_value="hijacked")
    with pytest.raises(PermissionDenied, match="MANAGE permission"):
        as_bot.secrets.put_acl(scope, app_id, AclPermission.MANAGE)

    sdk.secrets.put_acl(scope, app_id, AclPermission.WRITE)
    as_bot.secrets.put_secret(scope, "from-bot", string_value="hello")
    assert sdk.secrets.get_acl(scope, app_id).permission is AclPermission.WRITE
    assert {(a.principal, a.permission.value) for a in sdk.secrets.list_acls(scope)} == {
        ("airbricks@localhost", "MANAGE"),
        (app_id, "WRITE"),
    }
    with pytest.raises(PermissionDenied, match="MANAGE permission"):
        as_bot.secrets.delete_scope(scope)

    sdk.secrets.delete_acl(scope, app_id)
    with pytest.raises(PermissionDenied):
        as_bot.secrets.get_secret(scope, "from-bot")
    with pytest.raises(NotFound, match="No ACL for principal"):
        sdk.secrets.get_acl(scope, app_id)

    sdk.secrets.put_acl(scope, "users", AclPermission.READ)  # a group every principal is in
    assert _value(as_bot, scope, "from-bot") == b"hello"


def test_values_are_encrypted_at_rest_with_a_private_key(sdk: WorkspaceClient, scope: str, local_ws) -> None:
    value = f"plain-{uuid.uuid4().hex}"
    sdk.secrets.put_secret(scope, "k", string_value=value)
    data_dir = local_ws.workspace.data_dir
    key_file = data_dir / "secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    forms = [value.encode(), base64.b64encode(value.encode())]
    found = [str(p) for p in data_dir.rglob("*") if p.is_file() and any(f in p.read_bytes() for f in forms)]
    assert found == []
    # positive control: the scan sees a value that is written in plain text
    (data_dir / "control.txt").write_text(value)
    try:
        assert [p.name for p in data_dir.rglob("*") if p.is_file() and value.encode() in p.read_bytes()] == [
            "control.txt"
        ]
    finally:
        (data_dir / "control.txt").unlink()
