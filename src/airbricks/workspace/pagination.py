"""One paginator for every list endpoint: a window over an ordered list, and the neighbours' offsets.

Each API shapes its answer differently (``has_more`` + page tokens for jobs and runs, ``next_page_token`` /
``prev_page_token`` for clusters, a ``next_page`` request for cluster events, the last name for the Files
API), so routes render a :class:`Page`; what they share - the window arithmetic - lives only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items ``[offset, offset + limit)`` of a list of ``total`` matches."""

    items: list[T]
    offset: int
    limit: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None

    @property
    def prev_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset else None


def paginate(items: Sequence[T], offset: int, limit: int | None) -> Page[T]:
    """The page at ``offset`` (``limit`` None: everything from there on)."""
    total = len(items)
    size = total - offset if limit is None else limit
    return Page(list(items[offset : offset + max(size, 0)]), offset, max(size, 0), total)


def page_tokens(page: Page[T], *, previous: bool = False) -> dict[str, str]:
    """The page tokens of an answer: ``next_page_token`` while more follow (and ``prev_page_token`` if asked).

    A token is the offset where that page starts, as :func:`airbricks.workspace.server.http.page_offset` reads it.
    """
    tokens: dict[str, str] = {}
    if page.next_offset is not None:
        tokens["next_page_token"] = str(page.next_offset)
    if previous and page.prev_offset is not None:
        tokens["prev_page_token"] = str(page.prev_offset)
    return tokens
