"""API 2.2 pages the large arrays of ``jobs/get`` and ``runs/get``: 100 elements a page, ``next_page_token``.

Every page carries every paged array (empty once exhausted), since the SDK extends each of them page after
page. Responses whose arrays all fit one page are left as they are (API 2.0/2.1 never page).
"""

from __future__ import annotations

from typing import Any

from airbricks.workspace.pagination import Page, page_tokens, paginate

PAGE = 100
RUN_ARRAYS = ("tasks", "iterations", "job_clusters", "job_parameters", "repair_history")
JOB_ARRAYS = ("tasks", "job_clusters", "parameters", "environments")


def page_arrays(doc: dict[str, Any], keys: tuple[str, ...], offset: int) -> tuple[dict[str, Any], Page[Any] | None]:
    """(``doc`` with its ``keys`` arrays cut to the page at ``offset``, that page of the longest array or None
    when nothing is cut): the arrays share one offset, so the longest decides whether another page follows."""
    longest = max((doc.get(k) or [] for k in keys), key=len)
    if offset == 0 and len(longest) <= PAGE:
        return doc, None
    out = dict(doc)
    for key in keys:
        out[key] = paginate(list(doc.get(key) or []), offset, PAGE).items
    return out, paginate(longest, offset, PAGE)


def _more(paged: dict[str, Any], page: Page[Any] | None) -> dict[str, Any]:
    """``next_page_token`` (and ``has_more``) while the longest array has more."""
    tokens = page_tokens(page) if page is not None else {}
    return {**paged, **tokens, "has_more": True} if tokens else paged


def run_page(view: dict[str, Any], offset: int) -> dict[str, Any]:
    paged, page = page_arrays(view, RUN_ARRAYS, offset)
    return _more(paged, page)


def job_page(job: dict[str, Any], offset: int) -> dict[str, Any]:
    settings, page = page_arrays(job["settings"], JOB_ARRAYS, offset)
    return _more({**job, "settings": settings}, page)
