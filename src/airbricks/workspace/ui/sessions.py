"""Who may use the web UI: one-time sign-in links, browser sessions and their CSRF tokens.

Jupyter's habit for a local tool: ``airbricks serve`` prints a URL carrying a one-time login token; opening it
trades the token for a session cookie (HttpOnly, SameSite=Strict), so the URL in the terminal's scroll-back is
worth nothing once used. The API token never reaches a page: the UI's writes go through the server, which adds
the bearer header itself. Kept in memory: a restarted server signs every browser out (print a new link with
``POST /api/2.0/airbricks/ui/login-links``, or paste the workspace token into the sign-in form).

A session is one principal's: the printed link signs in as the workspace's user (an admin); the form takes any
token that names a user or service principal (the workspace's, or one an admin minted for a SCIM user), and the
browser then sees and does what that principal may, through the same permission checks as the API. The token
stays in the server's memory, never in a page or a cookie.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COOKIE = "airbricks_session"
#: How many sessions one server keeps (oldest dropped first): a bound, not a feature.
MAX_SESSIONS = 1000


@dataclass(frozen=True)
class Session:
    """A signed-in browser: its cookie value, the CSRF token its pages send back with each write, and the API
    token it acts with (its principal's, server-side only)."""

    sid: str
    csrf: str
    token: str = ""


class Sessions:
    """One-time login tokens and live sessions of one server process (thread-safe)."""

    def __init__(
        self,
        api_token: str,
        *,
        max_sessions: int = MAX_SESSIONS,
        authenticate: Callable[[str], Any] = lambda _token: None,
    ) -> None:
        """``authenticate``: the principal a token names (None: nobody), for tokens other than the workspace's."""
        self._api_token = api_token.encode()
        self._authenticate = authenticate
        self._max = max_sessions
        #: Unused login tokens, each with the API token its session will act with.
        self._login_tokens: dict[str, str] = {}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new_login_token(self, as_token: str | None = None) -> str:
        """A token that signs one browser in, once: as ``as_token``'s principal (default: the workspace's user)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._login_tokens[token] = as_token or self._api_token.decode()
        return token

    def redeem(self, login_token: str) -> Session | None:
        """A new session for an unused login token (which is then spent), else None."""
        with self._lock:
            as_token = self._login_tokens.pop(login_token, None)
            return None if as_token is None else self._open(as_token)

    def sign_in_with_api_token(self, api_token: str) -> Session | None:
        """The sign-in form's path: a session as whoever the token names (the workspace's user, or a user or
        service principal with a token of its own; never a task run's token)."""
        token = api_token.strip()
        if not hmac.compare_digest(token.encode(), self._api_token):
            principal = self._authenticate(token) if token else None
            if principal is None or getattr(principal, "task_run_id", None) is not None:
                return None
        with self._lock:
            return self._open(token)

    def _open(self, token: str) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(24), token)
        self._sessions[session.sid] = session
        while len(self._sessions) > self._max:
            self._sessions.pop(next(iter(self._sessions)))
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            return self._sessions.get(sid)

    def close(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    @staticmethod
    def csrf_ok(session: Session, sent: str | None) -> bool:
        if not sent:
            return False
        return hmac.compare_digest(session.csrf.encode(), sent.encode())
