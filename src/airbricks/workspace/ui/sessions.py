"""Who may use the web UI: one-time sign-in links, browser sessions and their CSRF tokens.

Jupyter's habit for a local tool: ``airbricks serve`` prints a URL carrying a one-time login token; opening it
trades the token for a session cookie (HttpOnly, SameSite=Strict), so the URL in the terminal's scroll-back is
worth nothing once used. The API token never reaches a page: the UI's writes go through the server, which adds
the bearer header itself. Kept in memory: a restarted server signs every browser out (print a new link with
``POST /api/2.0/airbricks/ui/login-links``, or paste the workspace token into the sign-in form).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass

COOKIE = "airbricks_session"
#: How many sessions one server keeps (oldest dropped first): a bound, not a feature.
MAX_SESSIONS = 1000


@dataclass(frozen=True)
class Session:
    """A signed-in browser: its cookie value and the CSRF token its pages send back with each write."""

    sid: str
    csrf: str


class Sessions:
    """One-time login tokens and live sessions of one server process (thread-safe)."""

    def __init__(self, api_token: str, *, max_sessions: int = MAX_SESSIONS) -> None:
        self._api_token = api_token.encode()
        self._max = max_sessions
        self._login_tokens: set[str] = set()
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new_login_token(self) -> str:
        """A token that signs one browser in, once."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._login_tokens.add(token)
        return token

    def redeem(self, login_token: str) -> Session | None:
        """A new session for an unused login token (which is then spent), else None."""
        with self._lock:
            if login_token not in self._login_tokens:
                return None
            self._login_tokens.discard(login_token)
            return self._open()

    def sign_in_with_api_token(self, api_token: str) -> Session | None:
        """The sign-in form's path: whoever holds the workspace token may open a session."""
        if not hmac.compare_digest(api_token.strip().encode(), self._api_token):
            return None
        with self._lock:
            return self._open()

    def _open(self) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(24))
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
