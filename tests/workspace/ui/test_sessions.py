"""The UI's sign-in model without HTTP: one-time links, the token form, CSRF tokens, the session bound."""

from __future__ import annotations

from airbricks.workspace.ui.sessions import Sessions


def test_a_login_token_opens_one_session_once() -> None:
    store = Sessions("dapi-secret")
    token = store.new_login_token()
    session = store.redeem(token)
    assert session is not None and store.get(session.sid) == session
    assert store.redeem(token) is None
    assert store.redeem("dapi-secret") is None  # the API token is no login-link token


def test_the_api_token_signs_in_through_the_form_only_when_it_matches() -> None:
    store = Sessions("dapi-secret")
    assert store.sign_in_with_api_token("dapi-wrong") is None
    session = store.sign_in_with_api_token(" dapi-secret\n")
    assert session is not None and session.csrf != session.sid


def test_csrf_tokens_belong_to_their_session() -> None:
    store = Sessions("t")
    first, second = store.redeem(store.new_login_token()), store.redeem(store.new_login_token())
    assert Sessions.csrf_ok(first, first.csrf)
    assert (
        not Sessions.csrf_ok(first, second.csrf)
        and not Sessions.csrf_ok(first, "")
        and not Sessions.csrf_ok(first, None)
    )


def test_closing_signs_out_and_the_oldest_sessions_go_first() -> None:
    store = Sessions("t", max_sessions=3)
    opened = [store.redeem(store.new_login_token()) for _ in range(4)]
    assert store.get(opened[0].sid) is None and all(store.get(s.sid) for s in opened[1:])
    store.close(opened[1].sid)
    assert store.get(opened[1].sid) is None and store.get(None) is None
