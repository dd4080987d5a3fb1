"""Minted tokens on a manual clock, no HTTP: a ``Shared`` and the ``Identity`` model only. A token works until it
expires or its principal is deleted, only its digest is stored, and a token document an earlier version wrote
still authenticates after a restart."""

from __future__ import annotations

import hashlib

import pytest

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.errors import InvalidParameterValue, PermissionDenied, ResourceDoesNotExist
from airbricks.workspace.identity.principals import Identity
from airbricks.workspace.shared import Shared


def _service_principal(identity: Identity) -> str:
    return identity.create(identity.me, "ServicePrincipals", {"displayName": "bot"})["id"]


def test_a_minted_token_names_its_principal_until_it_expires(shared: Shared, clock: ManualClock) -> None:
    identity = Identity(shared, token="dapi-unit")
    sp = _service_principal(identity)
    value, info = identity.mint_token(
        identity.me, resource="ServicePrincipals", principal_id=sp, lifetime_seconds=60, comment="ci"
    )
    assert info["expiry_time"] == info["creation_time"] + 60_000 and info["comment"] == "ci"
    assert info["owner_id"] == int(sp) and info["created_by_username"] == identity.me.name
    assert set(info) == {
        "token_id",
        "creation_time",
        "comment",
        "expiry_time",
        "owner_id",
        "created_by_id",
        "created_by_username",
    }
    found = identity.authenticate(value)
    assert found is not None and found.id == sp and found.kind == "service_principal"
    assert identity.list_tokens(identity.me) == [info]
    stored = [doc for _, doc in shared.store.load("minted_token")]
    assert value not in str(stored) and stored[0]["digest"] == hashlib.sha256(value.encode()).hexdigest()
    clock.advance(60_000)
    assert identity.authenticate(value) is None


def test_deleting_the_principal_or_the_token_ends_it(shared: Shared) -> None:
    identity = Identity(shared, token="dapi-unit")
    sp = _service_principal(identity)
    first, info = identity.mint_token(
        identity.me, resource="ServicePrincipals", principal_id=sp, lifetime_seconds=None, comment=None
    )
    second, _ = identity.mint_token(
        identity.me, resource="ServicePrincipals", principal_id=sp, lifetime_seconds=None, comment=None
    )
    assert info["expiry_time"] == -1
    identity.delete_token(identity.me, info["token_id"])
    assert identity.authenticate(first) is None and identity.authenticate(second) is not None
    with pytest.raises(ResourceDoesNotExist, match="Token with id nope does not exist"):
        identity.delete_token(identity.me, "nope")
    identity.delete(identity.me, "ServicePrincipals", sp)
    assert identity.authenticate(second) is None


def test_only_admins_mint_and_lifetimes_are_bounded(shared: Shared) -> None:
    identity = Identity(shared, token="dapi-unit")
    sp = _service_principal(identity)
    bot = identity.principal_of("ServicePrincipals", sp)
    with pytest.raises(PermissionDenied, match="Only workspace admins"):
        identity.mint_token(bot, resource="ServicePrincipals", principal_id=sp, lifetime_seconds=None, comment=None)
    with pytest.raises(InvalidParameterValue, match="lifetime_seconds"):
        identity.mint_token(
            identity.me, resource="ServicePrincipals", principal_id="404", lifetime_seconds=0, comment=None
        )
    with pytest.raises(ResourceDoesNotExist):
        identity.mint_token(
            identity.me, resource="ServicePrincipals", principal_id="404", lifetime_seconds=None, comment=None
        )
    assert identity.list_tokens(identity.me) == []


def test_a_token_document_of_an_earlier_version_still_authenticates(shared: Shared) -> None:
    sp = _service_principal(Identity(shared, token="dapi-unit"))
    shared.store.put(
        "minted_token",
        "t1",
        {
            "token_id": "t1",
            "creation_time": 0,
            "comment": "",
            "expiry_time": -1,
            "owner_id": int(sp),
            "created_by_id": 1,
            "created_by_username": "airbricks@localhost",
            "digest": hashlib.sha256(b"dapi-old").hexdigest(),
            "resource": "ServicePrincipals",
            "principal_id": sp,
        },
    )
    restarted = Identity(shared, token="dapi-unit")
    found = restarted.authenticate("dapi-old")
    assert found is not None and found.id == sp
    assert [t["token_id"] for t in restarted.list_tokens(restarted.me)] == ["t1"]


def test_run_tokens_and_new_users_reach_the_collaborators_given_to_the_constructor(shared: Shared) -> None:
    made: list[str] = []
    identity = Identity(
        shared,
        token="dapi-unit",
        run_principal=lambda token: identity.me if token == "dapi-run" else None,
        on_user_created=made.append,
    )
    assert identity.authenticate("dapi-run") == identity.me
    assert identity.authenticate("dapi-other") is None
    identity.create(identity.me, "Users", {"userName": "ann@x"})
    assert made == ["ann@x"]
