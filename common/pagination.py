"""Pagination that never counts the table.

A COUNT(*) over a store's leads grows with the table (open-source CRMs spend seconds on it at
a few hundred thousand rows). We fetch one row more than a page to know whether a next page
exists, so every page costs the same whatever the table's size.
"""

from __future__ import annotations

from collections import OrderedDict

from django.core.paginator import InvalidPage
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_PAGE_SIZE = 200
# PostgreSQL's OFFSET is a bigint; no table here comes near it, so a page past it is simply absent.
MAX_OFFSET = 2**63 - 1 - MAX_PAGE_SIZE


class NoCountPage:
    def __init__(self, rows: list, number: int, page_size: int):
        self.has_next = len(rows) > page_size
        self.object_list = rows[:page_size]
        self.number = number
        self.page_size = page_size
        self.has_previous = number > 1

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1


def _page_at(page_param: str | None, page_size: int) -> tuple[int, int]:
    """The page's number and offset, or InvalidPage."""
    try:
        number = max(1, int(page_param or 1))
    except ValueError:
        raise InvalidPage("The page must be a whole number.") from None
    offset = (number - 1) * page_size
    if offset > MAX_OFFSET:
        raise InvalidPage("No such page.")
    return number, offset


def paginate_without_count(queryset, page_param: str | None, page_size: int) -> NoCountPage:
    number, offset = _page_at(page_param, page_size)
    rows = list(queryset[offset : offset + page_size + 1])
    return NoCountPage(rows, number, page_size)


def paginate_ids(ids: list, page_param: str | None, page_size: int, *, fetch) -> NoCountPage:
    """paginate_without_count over primary keys already known, in the list's order (a scope a page
    works out once for other uses too): only the page's rows are loaded, through `fetch` (a
    function of the wanted primary keys returning their rows, in any order)."""
    number, offset = _page_at(page_param, page_size)
    wanted = ids[offset : offset + page_size + 1]
    rows = {row.pk: row for row in fetch(wanted)} if wanted else {}
    return NoCountPage([rows[pk] for pk in wanted if pk in rows], number, page_size)


def paginate_branches(branches: list, page_param: str | None, page_size: int, *, fetch=None) -> NoCountPage:
    """paginate_without_count over the union of disjoint, identically ordered querysets
    (leads.scoping.leads_for_branches): each branch walks its own index for the first
    offset + page rows, the database merges them (UNION ALL, in the branches' order), and one
    more query loads the page's rows through `fetch` (a function of the wanted primary keys,
    for select_related and prefetches). Where an OR of the branches would make PostgreSQL read
    every row of each to sort them, this reads about as many as the page shows."""
    if len(branches) == 1:
        queryset = branches[0] if fetch is None else fetch(branches[0])
        return paginate_without_count(queryset, page_param, page_size)
    number, offset = _page_at(page_param, page_size)
    ordering = list(branches[0].query.order_by)
    if not ordering or any(list(b.query.order_by) != ordering for b in branches):
        raise ValueError("paginate_branches needs every branch ordered, in the same order")
    fields = [name.lstrip("-") for name in ordering]
    window = offset + page_size + 1
    parts = [branch.values_list(*fields, "pk")[:window] for branch in branches]
    keys = parts[0].union(*parts[1:], all=True).order_by(*ordering)
    ids = [row[-1] for row in keys[offset:window]]
    model = branches[0].model
    rows = {row.pk: row for row in (fetch or (lambda qs: qs))(model._default_manager.filter(pk__in=ids))}
    return NoCountPage([rows[pk] for pk in ids if pk in rows], number, page_size)


class FastPageNumberPagination(BasePagination):
    page_query_param = "page"
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset, request, view=None):
        return self.paginate_branches([queryset], request)

    def paginate_branches(self, branches: list, request, fetch=None):
        """paginate_queryset over disjoint branches (common.pagination.paginate_branches)."""
        from django.conf import settings

        try:
            size = int(request.query_params.get(self.page_size_query_param, settings.REST_FRAMEWORK["PAGE_SIZE"]))
        except ValueError:
            size = settings.REST_FRAMEWORK["PAGE_SIZE"]
        size = max(1, min(size, MAX_PAGE_SIZE))
        try:
            self.page = paginate_branches(branches, request.query_params.get(self.page_query_param), size, fetch=fetch)
        except InvalidPage as exc:
            raise NotFound(str(exc)) from None
        self.request = request
        return list(self.page)

    def get_paginated_response(self, data):
        url = self.request.build_absolute_uri()
        next_url = replace_query_param(url, self.page_query_param, self.page.next_number) if self.page.has_next else None
        previous_url = None
        if self.page.has_previous:
            previous_url = (
                remove_query_param(url, self.page_query_param)
                if self.page.previous_number == 1
                else replace_query_param(url, self.page_query_param, self.page.previous_number)
            )
        return Response(OrderedDict([("next", next_url), ("previous", previous_url), ("results", data)]))

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param, "in": "query", "required": False,
                "description": "The page, from 1; a page that is not a whole number is 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param, "in": "query", "required": False,
                "description": f"Rows a page, 1 to {MAX_PAGE_SIZE} (others are brought into that range).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
