"""Regenerate ``docs/sdk-coverage.md``: which ``databricks-sdk`` workspace methods the local workspace answers.

For every API of ``WorkspaceClient`` (``w.clusters``, ``w.jobs``, ...), each method of its generated service
class is called once with placeholder arguments against a recording API client that stops at the first HTTP
call: that call's method and path are what the SDK sends. A method is *answered* when a row of the server's
route tables (``server/app.py``'s ``SERVICES`` and the server's own rows) matches that method and path, and
*refused* otherwise (the local workspace answers ``ENDPOINT_NOT_FOUND``). Whether every field and behaviour
matches is the tests' business, not this table's.

Run ``python scripts/sdk_coverage.py`` from the repository and commit the file; ``--check`` exits 1 when the
committed file differs from what the installed SDK and the current routes give (tests/test_sdk_coverage.py).
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "sdk-coverage.md"


class _Sent(Exception):
    """Raised by the recording client at the first request: the method needs to go no further."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(method, path)
        self.method, self.path = method, path


class _Config:
    workspace_id = None
    host = "http://localhost"


class _Recorder:
    """Stands in for ``ApiClient``: generated service classes call ``do(method, path, ...)`` and read ``_cfg``."""

    _cfg = _Config()

    def do(self, method: str, path: str | None = None, *args: object, **kwargs: object) -> typing.NoReturn:
        raise _Sent(method, path or str(kwargs.get("url", "")))


class _Placeholder(str):
    """Any argument: formats into a path as ``{name}``, serializes as an empty object, iterates as itself."""

    value = property(str.__str__)

    def as_dict(self) -> dict[str, object]:
        return {}

    def __iter__(self) -> Iterator[_Placeholder]:  # type: ignore[override]
        return iter([self])


@dataclass(frozen=True)
class Row:
    api: str
    method: str
    verb: str
    path: str
    answered: bool


def sdk_calls(skipped: list[str] | None = None) -> list[tuple[str, str, str, str]]:
    """``(api attribute, method, HTTP method, path template)`` for every method that sends one request; the
    names of those that send none by themselves (helpers, waiters) go to ``skipped``."""
    from databricks.sdk import WorkspaceClient

    found = []
    for attr, prop in sorted(inspect.getmembers(WorkspaceClient, lambda m: isinstance(m, property))):
        kind = typing.get_type_hints(prop.fget).get("return")
        bases = [c for c in getattr(kind, "__mro__", ()) if c.__module__.startswith("databricks.sdk.service.")]
        if not bases:
            continue
        extra = len(inspect.signature(bases[0].__init__).parameters) - 2  # beyond self and the client
        try:
            service = bases[0](_Recorder(), *[None] * extra)
        except Exception:
            continue
        for name, fn in sorted(vars(bases[0]).items()):
            if name.startswith(("_", "wait_")) or not inspect.isfunction(fn) or name.endswith("_and_wait"):
                continue
            params = list(inspect.signature(fn).parameters.values())[1:]
            args = {
                p.name: _Placeholder(f"{{{p.name}}}")
                for p in params
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            }
            try:
                result = getattr(service, name)(**args)
                if inspect.isgenerator(result) or isinstance(result, Iterator):
                    next(iter(result))
            except _Sent as sent:
                found.append((attr, name, sent.method, unquote(sent.path)))
            except Exception:  # a helper that sends nothing by itself (waiters, local checks)
                if skipped is not None:
                    skipped.append(f"{attr}.{name}")
    return found


def route_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """``(HTTP method, path regex)`` for every row the server mounts (a GET row answers HEAD too)."""
    from airbricks.workspace.server import app

    rows = [row for table in app.SERVICES for row in table]
    rows += app._server_routes(typing.cast(typing.Any, None), rows)
    out = []
    for row in rows:
        versions = "|".join(re.escape(v) for v in row.versions) if row.versions else "[^/]+"
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", row.path):
            if part == "{version}":
                pattern += f"(?:{versions})"
            elif part.startswith("{"):
                pattern += ".+" if part.endswith(":path}") else "[^/]+"
            else:
                pattern += re.escape(part)
        out.append((row.method, re.compile(f"^{pattern}$")))
    return out


#: A GET row answers HEAD as well (server/http.py's Endpoint).
_GET_FOR = {"HEAD": "GET"}


def rows(skipped: list[str] | None = None) -> list[Row]:
    patterns = route_patterns()
    calls = sdk_calls(skipped)
    return [
        Row(api, method, verb, path, any(m in (verb, _GET_FOR.get(verb)) and p.match(path) for m, p in patterns))
        for api, method, verb, path in calls
    ]


def render(found: list[Row], skipped: list[str]) -> str:
    import databricks.sdk.version

    apis: dict[str, list[Row]] = {}
    for row in found:
        apis.setdefault(row.api, []).append(row)
    answered = sum(r.answered for r in found)
    lines = [
        "# databricks-sdk coverage of the local workspace",
        "",
        f"Generated by `scripts/sdk_coverage.py` from databricks-sdk {databricks.sdk.version.__version__}: each"
        " method of `WorkspaceClient`'s APIs, the HTTP request it sends, and whether a route of the local workspace"
        " answers it (**yes**) or it is refused with `ENDPOINT_NOT_FOUND` (no). A route answering means the call"
        " reaches a model that implements it; the tests say how faithfully. Do not edit by hand:"
        " `tests/test_sdk_coverage.py` fails when this file is stale.",
        "",
        f"**{answered} of {len(found)} methods answered**, in {sum(any(r.answered for r in v) for v in apis.values())}"
        f" of {len(apis)} APIs. {len(skipped)} more methods send no request when called with placeholder"
        " arguments (they check them locally first) and are not counted; nor are the waiters (`wait_*`,"
        " `*_and_wait`), which poll the methods above.",
        "",
        "## By API",
        "",
        "| API | answered | methods |",
        "| --- | ---: | ---: |",
    ]
    for api, items in apis.items():
        lines.append(f"| `w.{api}` | {sum(r.answered for r in items)} | {len(items)} |")
    lines += [
        "",
        "## Methods of the APIs the local workspace answers",
        "",
        "APIs with no answered method are left out here (all their methods are refused).",
        "",
        "| method | request | answered |",
        "| --- | --- | --- |",
    ]
    for api, items in apis.items():
        if any(r.answered for r in items):
            for r in items:
                lines.append(f"| `w.{api}.{r.method}` | `{r.verb} {r.path}` | {'**yes**' if r.answered else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    skipped: list[str] = []
    text = render(rows(skipped), skipped)
    if "--check" in argv:
        if not OUTPUT.is_file() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run python scripts/sdk_coverage.py and commit it.")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
