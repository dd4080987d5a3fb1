"""Secret values at rest: AES-256-GCM under a key of the data dir's own, kept in a file readable by its owner only.

The store (``state.db``) holds only ciphertexts; each is bound to its ``scope/key`` (associated data), so a
ciphertext copied onto another secret's row does not decrypt. The key file is created 0600 from the first byte
(as the token file is), so a copy of the store alone reveals nothing, and nothing in the data dir holds a value
in plain text. ``cryptography`` is a dependency of Airflow's core and of the ``server`` extra.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "secrets.key"
NONCE_BYTES = 12


class SecretCipher:
    """Encrypts and decrypts secret values with the data dir's key (created on first use)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / KEY_FILE
        self._aead = AESGCM(self._load_or_create())

    def _load_or_create(self) -> bytes:
        if self.path.exists():
            key = base64.b64decode(self.path.read_bytes())
            if len(key) != 32:
                raise ValueError(
                    f"{self.path} does not hold a 256-bit key: restore it, or remove it together with "
                    "the secrets it encrypted"
                )
            return key
        key = secrets.token_bytes(32)
        tmp = self.path.with_suffix(".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            fh.write(base64.b64encode(key) + b"\n")
        tmp.replace(self.path)
        return key

    def encrypt(self, value: bytes, *, bound_to: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, value, bound_to.encode())).decode()

    def decrypt(self, sealed: str, *, bound_to: str) -> bytes:
        raw = base64.b64decode(sealed)
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode())
        except InvalidTag:
            raise ValueError(f"the stored value of {bound_to} does not decrypt with {self.path}") from None
