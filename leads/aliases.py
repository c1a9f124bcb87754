"""Following merges on read (issue 15): contact events are append-only, so a merge never rewrites
their customer; every read of a customer's history asks for the customer's family instead: the
customer and those merged into it (Customer.merged_into always points at a customer that is not
merged itself, so the family is one hop)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q

from leads.models import Customer


def family(customer_id: int):
    """A subquery of the customer's id and the ids merged into it: filter(customer_id__in=family(pk))."""
    return Customer.objects.filter(Q(pk=customer_id) | Q(merged_into_id=customer_id)).values("pk")


def families(customer_ids: Iterable[int]) -> dict[int, int]:
    """{id of a customer or of one merged into it: the customer's id} for these customers, in one query."""
    ids = list(customer_ids)
    if not ids:
        return {}
    members = {pk: pk for pk in ids}
    members.update(_pointers("merged_into_id = ANY(%s)", ids))
    return members


def survivors(customer_ids: Iterable[int]) -> dict[int, int]:
    """{customer id: the customer it stands for now (itself, or the one it was merged into)}, one query."""
    ids = set(customer_ids)
    found = _pointers("merged_into_id IS NOT NULL AND id = ANY(%s)", list(ids)) if ids else {}
    return {pk: found.get(pk, pk) for pk in ids}


def _pointers(where: str, ids: list[int]) -> dict[int, int]:
    """{id: merged_into_id} of the customers `where` picks, the ids as one array parameter: a page
    asks for a thousand customers at once, and an IN list of a thousand parameters costs the ORM
    more than the partial index (customer_merged_into) costs PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, merged_into_id FROM {Customer._meta.db_table} WHERE {where}", [ids])
        return dict(cursor.fetchall())
