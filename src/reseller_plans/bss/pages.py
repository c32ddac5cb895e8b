"""The BSS's paged lists, read without I/O: a cursor that says which page to ask for next."""

from __future__ import annotations

from collections.abc import Mapping

from reseller_plans.bss.wire import BSSWireConfig
from reseller_plans.http.payload import Payload
from reseller_plans.http.reply import Reply
from reseller_plans.http.steps import Request

__all__ = ["Pages"]


class Pages:
    """A cursor over one paged list: ``{data, paging: {totalPages}, links: {next}}``.

    Ask :meth:`next_request` for the request of the next page (None: the list is done), send
    it, and give its reply to :meth:`read` for the page's rows.
    """

    def __init__(self, wire: BSSWireConfig, route: str, params: Mapping[str, str]) -> None:
        self._wire = wire
        self._next: str | None = route
        self._query: dict[str, str | int] | None = {**params, "pageIndex": 1,
                                                     "pageSize": wire.page_size}  # fmt: skip
        self._number = 0
        self._seen: set[str] = set()
        self._last: tuple[Payload, int] | None = None

    def next_request(self) -> Request | None:
        """The request of the next page, or None when the list is done.

        Raises:
            MalformedResponse: the last page's ``links`` or ``paging`` cannot be read.
        """
        if self._last is not None:
            # Read only now, once the rows were used: a caller that stops early never needs it.
            wire = self._wire
            page, rows = self._last
            self._last = None
            links = page.obj(wire.paging_links_member, required=False)
            candidate = links.optional_text(wire.paging_next_member) if links else None
            paging = page.obj(wire.paging_member, required=False)
            total = paging.integer(wire.paging_total_pages_member, default=0) if paging else 0
            done = not candidate or not rows or (total and self._number >= total)
            if done or candidate in self._seen:
                self._next = None
            else:
                assert candidate is not None  # noqa: S101 - not done means a candidate
                self._seen.add(candidate)
                self._next, self._query = candidate, None
        if self._next is None:
            return None
        return Request("GET", self._next, params=self._query)

    def read(self, reply: Reply) -> list[Payload]:
        """The rows of a page.

        Raises:
            MalformedResponse: the page is no JSON object, or has no list of rows.
        """
        page = reply.payload()
        self._number += 1
        rows = page.items(self._wire.paging_data_member)
        self._last = (page, len(rows))
        return rows
