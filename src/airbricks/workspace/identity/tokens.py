"""Tokens an admin minted for another principal (``token-management``): who they name, until when.

Kept as SHA-256 digests only, so the data dir never holds a token. Each names its principal by SCIM resource
type and id, so a deleted principal's tokens stop working with it (:class:`Identity` resolves them). Callers
hold the workspace's lock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue, ResourceDoesNotExist
from airbricks.workspace.shared import Shared

KIND = "minted_token"
#: The longest lifetime a minted token may ask for (the real default maximum is 730 days).
MAX_LIFETIME_SECONDS = 730 * 24 * 3600
#: What ``token-management`` shows of a token (the rest says whose it is, and is not shown).
_INFO = ("token_id", "creation_time", "comment", "expiry_time", "owner_id", "created_by_id", "created_by_username")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_lifetime(lifetime_seconds: int | None) -> None:
    if lifetime_seconds is not None and not 0 < lifetime_seconds <= MAX_LIFETIME_SECONDS:
        raise InvalidParameterValue(
            f"Invalid value for field 'lifetime_seconds': must be between 1 and "
            f"{MAX_LIFETIME_SECONDS} seconds, got {lifetime_seconds}"
        )


@dataclass(frozen=True)
class MintedToken:
    """One minted token, as stored (the same document shape as ever)."""

    token_id: str
    creation_time: int
    comment: str
    #: Epoch milliseconds, or -1: never expires.
    expiry_time: int
    owner_id: int
    created_by_id: int
    created_by_username: str
    digest: str
    #: Whose it is: a SCIM resource type (``Users``, ``ServicePrincipals``) and that principal's id.
    resource: str
    principal_id: str

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> MintedToken:
        return cls(**{f.name: doc[f.name] for f in dataclasses.fields(cls)})

    def to_doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def info(self) -> dict[str, Any]:
        """The token as ``token-management`` shows it."""
        return {name: getattr(self, name) for name in _INFO}

    def live(self, now_ms: int) -> bool:
        return self.expiry_time == -1 or self.expiry_time > now_ms


class MintedTokens:
    """Every minted token of the workspace, by digest."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self._by_digest = {doc["digest"]: MintedToken.from_doc(doc) for _, doc in shared.store.load(KIND)}

    def find(self, token: str) -> MintedToken | None:
        """The live token ``token`` is (None: not minted here, or expired)."""
        found = self._by_digest.get(digest(token))
        return found if found is not None and found.live(self.shared.now_ms()) else None

    def mint(
        self,
        *,
        resource: str,
        principal_id: str,
        created_by: tuple[str, str],
        lifetime_seconds: int | None,
        comment: str | None,
    ) -> tuple[str, MintedToken]:
        """A new token for the principal (``created_by``: the caller's id and name); its value is shown once."""
        value = "dapi" + secrets.token_hex(16)
        now = self.shared.now_ms()
        token = MintedToken(
            token_id=secrets.token_hex(32),
            creation_time=now,
            comment=comment or "",
            expiry_time=now + lifetime_seconds * 1000 if lifetime_seconds else -1,
            owner_id=int(principal_id),
            created_by_id=int(created_by[0]),
            created_by_username=created_by[1],
            digest=digest(value),
            resource=resource,
            principal_id=principal_id,
        )
        self.shared.store.put(KIND, token.token_id, token.to_doc())
        self._by_digest[token.digest] = token
        return value, token

    def list(self) -> list[MintedToken]:
        return list(self._by_digest.values())

    def delete(self, token_id: str) -> None:
        found = next((t for t in self._by_digest.values() if t.token_id == token_id), None)
        if found is None:
            raise ResourceDoesNotExist(f"Token with id {token_id} does not exist.")
        del self._by_digest[found.digest]
        self.shared.store.delete(KIND, token_id)
