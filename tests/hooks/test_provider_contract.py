"""The provider's private API that airbricks relies on is still there, and only airbricks._provider uses it.

When an ``apache-airflow-providers-databricks`` release renames, removes or re-signs a private member of
``DatabricksHook``, these tests fail naming the member and the installed provider version: fix
``src/airbricks/_provider.py`` (and its ``PRIVATE_MEMBERS``), nothing else.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import importlib
import inspect
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest
from airflow.providers.databricks.hooks.databricks import ClusterState, DatabricksHook

from airbricks import _provider
from airbricks.utils import clusters

PROVIDER = f"apache-airflow-providers-databricks {version('apache-airflow-providers-databricks')}"
SRC = Path(_provider.__file__).resolve().parent
ADAPTER = Path(_provider.__file__).resolve()
_MISSING = object()


def _where(member: _provider.Member) -> str:
    owner = _provider.PROVIDER_BASE_MODULE if member.kind == "class" else "DatabricksHook"
    return f"{PROVIDER}: {owner}.{member.name}"


def _check_binds(member: _provider.Member, func: object, bound_self: bool) -> None:
    """The adapter's positional call still binds, to parameters of the names it means."""
    sig = inspect.signature(func)  # type: ignore[arg-type]
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][
        1 if bound_self else 0 :
    ]
    names = tuple(p.name for p in params[: len(member.args)])
    assert names == member.args, (
        f"{_where(member)}: airbricks._provider passes {member.args} positionally, "
        f"the provider now takes {names} first (signature {sig})"
    )
    args = ([object()] if bound_self else []) + [object()] * len(member.args)
    try:
        sig.bind(*args)
    except TypeError as exc:
        pytest.fail(f"{_where(member)}: the call airbricks._provider makes no longer binds to {sig}: {exc}")


async def _session_after_aenter(name: str) -> tuple[object, object]:
    hook = DatabricksHook()
    async with hook:
        inside = getattr(hook, name, _MISSING)
    return inside, getattr(hook, name, _MISSING)


@pytest.mark.parametrize("member", _provider.PRIVATE_MEMBERS + _provider.UNDOCUMENTED_MEMBERS, ids=lambda m: m.name)
def test_provider_member_still_exists_with_the_shape_airbricks_uses(member: _provider.Member) -> None:
    if member.kind == "class":
        obj = getattr(importlib.import_module(_provider.PROVIDER_BASE_MODULE), member.name, _MISSING)
        assert inspect.isclass(obj), f"{_where(member)} is gone (or not a class any more)"
        _check_binds(member, obj, bound_self=False)
        return
    if member.kind == "attribute":  # set on the instance by ``async with hook`` (the provider's __aenter__)
        import aiohttp

        inside, after = asyncio.run(_session_after_aenter(member.name))
        assert isinstance(inside, aiohttp.ClientSession), (
            f"{_where(member)}: `async with hook` no longer sets it to an aiohttp session (got {inside!r})"
        )
        assert after is None, f"{_where(member)}: leaving `async with hook` no longer resets it (got {after!r})"
        return
    static = inspect.getattr_static(DatabricksHook, member.name, _MISSING)
    assert static is not _MISSING, f"{_where(member)} is gone"
    if member.kind == "property":
        assert isinstance(static, property | functools.cached_property), f"{_where(member)} is not a property"
        return
    func = getattr(DatabricksHook, member.name)
    assert callable(func), f"{_where(member)} is not callable any more"
    is_coroutine = inspect.iscoroutinefunction(func)
    assert is_coroutine == (member.kind == "coroutine"), (
        f"{_where(member)} is {'now' if is_coroutine else 'no longer'} a coroutine function; "
        f"airbricks._provider {'awaits' if member.kind == 'coroutine' else 'calls'} it"
    )
    _check_binds(member, func, bound_self=not isinstance(static, staticmethod))


# ---------------------------------------------------------------- the adapter's list is complete
def _names_used_by(source: str) -> tuple[set[str], set[str]]:
    """(private names the code reaches: ``x._name``, ``getattr(x, "_name")``, ``from ... import _Name``;
    public attributes read from a variable called ``hook``)."""
    private: set[str] = set()
    on_hook: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            if _is_private(node.attr):
                private.add(node.attr)
            elif isinstance(node.value, ast.Name) and node.value.id == "hook":
                on_hook.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) > 1
        ):
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and _is_private(name.value):
                private.add(name.value)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow."):
            private.update(alias.name for alias in node.names if _is_private(alias.name))
    return private, on_hook


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_the_adapter_lists_exactly_the_provider_members_it_uses() -> None:
    private, on_hook = _names_used_by(ADAPTER.read_text())
    listed = {m.name for m in _provider.PRIVATE_MEMBERS}
    assert private - listed == set(), "airbricks._provider uses private members missing from PRIVATE_MEMBERS"
    assert listed - private == set(), "PRIVATE_MEMBERS lists members airbricks._provider no longer uses"
    undocumented = {m.name for m in _provider.UNDOCUMENTED_MEMBERS}
    assert on_hook == undocumented, "UNDOCUMENTED_MEMBERS must list exactly the public hook members used"


# ---------------------------------------------------------------- nothing else reaches for them
def _provider_private_names() -> set[str]:
    """Private names of the provider's hook: class members (whole MRO) and attributes it sets on ``self``."""
    names = {n for n in dir(DatabricksHook) if _is_private(n)}
    for cls in DatabricksHook.__mro__:
        if cls.__module__.startswith("airflow."):
            for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(cls)))):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                    and _is_private(node.attr)
                ):
                    names.add(node.attr)
    return names


def _bypasses(source: str, provider_private: set[str]) -> list[str]:
    """Provider-private members reached on a hook: ``self._x`` in a ``...Hook`` subclass, ``<...hook...>._x``,
    ``getattr(<hook>, "_x")``, or a private name imported from the provider."""
    found: list[str] = []

    def on_hook(receiver: ast.expr, hook_self: bool) -> bool:
        text = ast.unparse(receiver)
        return "hook" in text.lower() or (hook_self and text == "self")

    def visit(node: ast.AST, hook_self: bool) -> None:
        if isinstance(node, ast.ClassDef):
            hook_self = any(ast.unparse(base).endswith("Hook") for base in node.bases)
        if isinstance(node, ast.Attribute) and node.attr in provider_private and on_hook(node.value, hook_self):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in provider_private
            and on_hook(node.args[0], hook_self)
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow.providers.databricks"):
            found.extend(f"line {node.lineno}: import {a.name}" for a in node.names if _is_private(a.name))
        for child in ast.iter_child_nodes(node):
            visit(child, hook_self)

    visit(ast.parse(source), False)
    return found


def test_nothing_outside_the_adapter_uses_a_provider_private_member() -> None:
    provider_private = _provider_private_names()
    assert {"_do_api_call", "_session", "_get_token"} <= provider_private  # the scan knows what to look for
    offenders = {}
    # workspace/ is the server side (the local workspace emulator): it never holds a provider hook.
    for path in sorted(SRC.rglob("*.py")):
        if path == ADAPTER or "workspace" in path.relative_to(SRC).parts:
            continue
        if hits := _bypasses(path.read_text(), provider_private):
            offenders[str(path.relative_to(SRC))] = hits
    assert offenders == {}, f"go through airbricks._provider instead ({PROVIDER}): {offenders}"


def test_the_bypass_scan_catches_each_way_in() -> None:
    provider_private = _provider_private_names()
    code = textwrap.dedent("""
        from airflow.providers.databricks.hooks.databricks_base import _TokenAuth

        class MyHook(DatabricksHook):
            def f(self):
                return self._do_api_call(("GET", "x"), {}), self.own_thing, self._set_connection

        def g(self, hook):
            getattr(hook, "_session", None)
            return self.hook._get_token(), self._get_token()
    """)
    assert _bypasses(code, provider_private) == [
        "line 2: import _TokenAuth",
        "line 6: self._do_api_call",
        "line 9: getattr(hook, '_session', None)",
        "line 10: self.hook._get_token",
    ]


# ---------------------------------------------------------------- the cluster-state vocabulary
def test_cluster_state_vocabulary_still_means_what_airbricks_relies_on() -> None:
    states = set(ClusterState.CLUSTER_LIFE_CYCLE_STATES)
    named = {clusters.RUNNING, clusters.TERMINATED, *clusters.ADOPTION_ORDER, *clusters.RESTARTABLE_STATES}
    assert named <= states, f"{PROVIDER}: ClusterState no longer knows {named - states}"
    assert clusters.TERMINAL_STATES == {"TERMINATING", "TERMINATED", "ERROR", "UNKNOWN"}, (
        f"{PROVIDER}: ClusterState.is_terminal changed; the cluster trigger fails on TERMINAL_STATES"
    )
    assert clusters.USABLE_STATES == {"PENDING", "RUNNING", "RESTARTING", "RESIZING"}, (
        f"{PROVIDER}: the life-cycle list or is_terminal changed; USABLE_STATES is their difference"
    )
    assert clusters.ENDED_STATES == {"TERMINATED", "ERROR", "UNKNOWN"}
    assert set(clusters.ADOPTION_ORDER) == clusters.USABLE_STATES | clusters.RESTARTABLE_STATES
    assert clusters.ADOPTION_ORDER[0] == clusters.RUNNING
