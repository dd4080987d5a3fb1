"""API 2.2 pages the large arrays of ``jobs/get`` and ``runs/get``: 100 elements a page, ``next_page_token``.

Every page carries every paged array (empty once exhausted), since the SDK extends each of them page after
page. Responses whose arrays all fit one page are left as they are (API 2.0/2.1 never page).
"""

from __future__ import annotations

from typing import Any

PAGE = 100
RUN_ARRAYS = ("tasks", "iterations", "job_clusters", "job_parameters", "repair_history")
JOB_ARRAYS = ("tasks", "job_clusters", "parameters", "environments")


def page_arrays(doc: dict[str, Any], keys: tuple[str, ...], offset: int) -> tuple[dict[str, Any], int | None]:
    """(``doc`` with its ``keys`` arrays cut to the page at ``offset``, the next offset or None)."""
    lengths = [len(doc.get(k) or []) for k in keys]
    if offset == 0 and max(lengths) <= PAGE:
        return doc, None
    out = dict(doc)
    for key in keys:
        out[key] = list(doc.get(key) or [])[offset : offset + PAGE]
    return out, (offset + PAGE if max(lengths) > offset + PAGE else None)


def run_page(view: dict[str, Any], offset: int) -> dict[str, Any]:
    paged, following = page_arrays(view, RUN_ARRAYS, offset)
    if following is not None:
        paged.update(next_page_token=str(following), has_more=True)
    return paged


def job_page(job: dict[str, Any], offset: int) -> dict[str, Any]:
    settings, following = page_arrays(job["settings"], JOB_ARRAYS, offset)
    paged = {**job, "settings": settings}
    if following is not None:
        paged.update(next_page_token=str(following), has_more=True)
    return paged
