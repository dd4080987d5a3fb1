"""The identity and secrets models without HTTP: ACL resolution, encryption at rest, minted-token expiry on a
manual clock, per-run tokens and redaction."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from tests.workspace.model_kit import make_workspace

from airbricks.workspace import errors
from airbricks.workspace.core import Workspace
from airbricks.workspace.identity.principals import Principal
from airbricks.workspace.jobs.redaction import REDACTED, Redactor
from airbricks.workspace.kernel.channel import RunTokens
from airbricks.workspace.secrets.cipher import SecretCipher
from airbricks.workspace.secrets.scopes import effective_permission


def _p(name: str, *groups: str) -> Principal:
    return Principal("1", name, "user", frozenset({"users", *groups}))


def test_effective_permission_is_the_strongest_grant_of_any_name() -> None:
    acls = {"alice": "READ", "analysts": "WRITE", "users": "READ"}
    assert effective_permission(_p("alice"), acls) == "READ"
    assert effective_permission(_p("alice", "analysts"), acls) == "WRITE"
    assert effective_permission(_p("bob"), acls) == "READ"  # through users
    assert effective_permission(_p("bob"), {"alice": "MANAGE"}) is None
    assert effective_permission(_p("root", "admins"), {}) == "MANAGE"


def test_cipher_round_trips_binds_to_the_name_and_keeps_its_key_private(tmp_path: Path) -> None:
    cipher = SecretCipher(tmp_path)
    sealed = cipher.encrypt(b"p@ss", bound_to="s/k")
    assert b"p@ss" not in sealed.encode() and cipher.decrypt(sealed, bound_to="s/k") == b"p@ss"
    with pytest.raises(ValueError, match="does not decrypt"):
        cipher.decrypt(sealed, bound_to="s/other")
    assert stat.S_IMODE((tmp_path / "secrets.key").stat().st_mode) == 0o600
    assert SecretCipher(tmp_path).decrypt(sealed, bound_to="s/k") == b"p@ss"  # the key survives a restart
    assert cipher.encrypt(b"p@ss", bound_to="s/k") != sealed  # a fresh nonce each time


def test_acls_through_the_model(ws: Workspace) -> None:
    me, secrets = ws.identity.me, ws.secrets
    bot_doc = ws.identity.create(me, "ServicePrincipals", {"displayName": "bot"})
    bot = ws.identity.principal_of("ServicePrincipals", bot_doc["id"])
    secrets.create_scope(me, "s")
    secrets.put(me, "s", "k", string_value="v")
    with pytest.raises(errors.PermissionDenied, match=f"{bot.name} does not have READ permission on scope s"):
        secrets.get(bot, "s", "k")
    secrets.put_acl(me, "s", bot.name, "WRITE")
    secrets.put(bot, "s", "k2", bytes_value=b"\x00")
    assert secrets.get(bot, "s", "k2") == b"\x00"
    with pytest.raises(errors.PermissionDenied, match="MANAGE"):
        secrets.delete_scope(bot, "s")
    resolved, used = secrets.resolve(me, "jdbc://u:{{secrets/s/k}}@h")
    assert resolved == "jdbc://u:v@h" and used == {"v"}
    with pytest.raises(errors.ResourceDoesNotExist):
        secrets.resolve(me, "{{secrets/s/missing}}")
    with pytest.raises(errors.PermissionDenied):
        ws.identity.create(bot, "Users", {"userName": "x@example.com"})


def test_minted_tokens_expire_on_the_clock_and_die_with_their_principal(ws: Workspace) -> None:
    identity = ws.identity
    doc = identity.create(identity.me, "Users", {"userName": "carol@example.com"})
    value, info = identity.mint_token(
        identity.me, resource="Users", principal_id=doc["id"], lifetime_seconds=60, comment="test"
    )
    assert identity.authenticate(value).name == "carol@example.com"
    ws.step(59_000)
    assert identity.authenticate(value) is not None
    ws.step(1_000)
    assert identity.authenticate(value) is None
    forever, _ = identity.mint_token(
        identity.me, resource="Users", principal_id=doc["id"], lifetime_seconds=None, comment=None
    )
    identity.delete(identity.me, "Users", doc["id"])
    assert identity.authenticate(forever) is None
    assert identity.authenticate("dapi-unit") is identity.me
    with pytest.raises(errors.InvalidParameterValue, match="lifetime_seconds"):
        identity.mint_token(
            identity.me, resource="Users", principal_id=identity.me.id, lifetime_seconds=0, comment=None
        )


def test_run_tokens_live_for_one_run_and_collect_what_it_read() -> None:
    tokens = RunTokens()
    first = tokens.issue(7, "alice")
    assert tokens.principal(first) == "alice"
    tokens.note_read(7, {"a", ""})
    second = tokens.issue(7, "alice")  # a new process of the same task run: the old token is gone
    assert tokens.principal(first) is None and tokens.values_read(7) == set()
    tokens.note_read(7, {"b"})
    assert tokens.revoke(7) == {"b"} and tokens.principal(second) is None
    tokens.note_read(7, {"c"})  # after the end: ignored
    assert tokens.values_read(7) == set()


def test_redactor_replaces_every_value_longest_first(tmp_path: Path) -> None:
    redactor = Redactor({"abc", "abcdef", ""})
    assert redactor.text("x abcdef y abc") == f"x {REDACTED} y {REDACTED}"
    assert redactor.data({"abc": ["abc", 1, {"k": "zabcz"}]}) == {REDACTED: [REDACTED, 1, {"k": f"z{REDACTED}z"}]}
    cells = tmp_path / "cells.json"
    cells.write_text(json.dumps([{"text": 'say "abc"'}]))
    redactor.json_file(cells)
    assert json.loads(cells.read_text()) == [{"text": f'say "{REDACTED}"'}]
    log = tmp_path / "output.log"
    log.write_bytes(b"\xff abc\n")
    redactor.text_file(log)
    assert log.read_bytes() == b"\xff " + REDACTED.encode() + b"\n"
    assert not Redactor([])


def test_the_configured_user_owns_the_token_and_a_restart_can_rename_it(tmp_path: Path, clock, procs) -> None:
    ws = make_workspace(tmp_path / "ws", clock, procs, user="first@example.com")
    try:
        assert ws.identity.authenticate("dapi-unit").name == "first@example.com"
        cluster = ws.clusters.create(
            {"spark_version": "16.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 0}
        )
        assert ws.clusters.get(cluster)["creator_user_name"] == "first@example.com"
        assert (ws.objects.get_status("/Users/first@example.com"))["object_type"] == "DIRECTORY"
        owner_id = ws.identity.me.id
    finally:
        ws.stop()
    again = make_workspace(tmp_path / "ws", clock, procs, user="renamed@example.com")
    try:
        assert again.identity.me.id == owner_id and again.identity.me.name == "renamed@example.com"
        assert [u["userName"] for u in again.identity.list("Users")] == ["renamed@example.com"]
    finally:
        again.stop()


def test_a_run_gets_a_token_of_its_run_as_principal_and_never_an_admins_by_mistake(ws: Workspace) -> None:
    from airbricks.workspace.kernel.channel import TOKEN_ENV, URL_ENV

    env = ws.run_identity.open(41, "airbricks@localhost", None)
    assert env[URL_ENV] == ws.url
    mine = ws.identity.authenticate(env[TOKEN_ENV])
    assert mine.name == "airbricks@localhost" and mine.is_admin and mine.task_run_id == 41
    ghost = ws.identity.authenticate(ws.run_identity.open(42, "deleted@example.com", None)[TOKEN_ENV])
    assert ghost.name == "deleted@example.com" and not ghost.is_admin and ghost.groups == {"users"}
    ws.run_identity.note_read(41, b"s3cr3t")
    assert ws.run_identity.close(41) == {"s3cr3t"}
    assert ws.identity.authenticate(env[TOKEN_ENV]) is None


def test_what_a_run_read_is_redacted_live_and_then_in_its_outcome_and_files(ws: Workspace, procs) -> None:
    ws.objects.mkdirs("/Shared/unit")
    ws.objects.import_("/Shared/unit/nb", b"x = 1\n", "SOURCE", "PYTHON", False)
    run_id = ws.jobs.submit(
        tasks=[{"task_key": "t", "notebook_task": {"notebook_path": "/Shared/unit/nb"}}], run_name="unit"
    )["run_id"]
    ws.step(10)
    task_run = ws.runs.get(run_id)["tasks"][0]["run_id"]
    ws.run_identity.open(task_run, "airbricks@localhost", None)  # what a real (not scripted) start does
    ws.run_identity.note_read(task_run, b"topsecret")
    cells = ws.runs.executor.run_dir(ws.runs.find(task_run).task) / "cells.json"
    cells.parent.mkdir(parents=True, exist_ok=True)  # a scripted process writes no files of its own
    cells.write_text(
        json.dumps([{"number": 1, "source": "print(v)", "outputs": [{"type": "text", "text": "v is topsecret\n"}]}])
    )
    live = ws.runs.export(task_run)["views"][0]["content"]
    assert "v is [REDACTED]" in live and "topsecret" not in live
    procs[0].finish(status="FAILED", error="ValueError: topsecret", error_trace="line 1: topsecret")
    ws.step(10)
    output = ws.runs.output(task_run, single_task_parent_ok=False)
    assert (output["error"], output["error_trace"]) == ("ValueError: [REDACTED]", "line 1: [REDACTED]")
    assert "topsecret" not in cells.read_text() and "[REDACTED]" in cells.read_text()
    assert ws.run_identity.values_read(task_run) == set()  # the token is gone with the run
