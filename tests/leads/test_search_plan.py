"""The lead search by name starts from the customers' name prefix indexes when few match: at
1,000,000 leads a rare name took 3 s reading every lead of the store, now under a millisecond
(bench/pages.py, "lead list search, a rare name")."""

from __future__ import annotations

import pytest
from django.db import connection
from factories import LeadFactory

from leads.models import Lead
from leads.services import lead_search_q

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Only bitmap scans left: they need an index whose expression is exactly the query's.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


BOTH = {"customer_last_name_prefix", "customer_first_name_prefix"}


@pytest.mark.parametrize(("term", "needs"), [
    ("Zzyx", all),  # last name OR first name: both indexes, or it reads every customer
    ("Robinson, Walter", any),  # last AND first: either index narrows it
    ("Walter Robinson", any),
])
def test_a_name_is_looked_up_through_the_name_prefix_indexes(store, term, needs):
    lead_filter = lead_search_q(term)
    (lookup, customers), = lead_filter.children  # customer_id__in=<the customers' subquery>
    assert lookup == "customer_id__in"
    text = plan(customers)
    assert "Seq Scan" not in text and needs(name in text for name in BOTH), text


def test_names_and_provider_ids_are_found(store):
    garcia = LeadFactory(store=store, customer__first_name="Ana", customer__last_name="Garcia")
    walter = LeadFactory(store=store, customer__first_name="Walter", customer__last_name="Robinson")
    by_id = LeadFactory(store=store, provider_lead_id="CG-20931", customer__last_name="Zed")

    def found(term: str) -> set[int]:
        return set(Lead.objects.filter(store=store).filter(lead_search_q(term)).values_list("pk", flat=True))

    assert found("garc") == {garcia.pk}
    assert found("ana") == {garcia.pk}
    assert found("Robinson, Walt") == {walter.pk}
    assert found("walter rob") == {walter.pk}
    assert found("CG-20931") == {by_id.pk}
    assert found("Zzyx") == set()
