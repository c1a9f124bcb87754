"""common.pagination: pages without a count, and pages merged from leads_for's branches."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.paginator import InvalidPage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.pagination import paginate_branches
from leads import scoping as lead_scoping

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def mixed(org, lead_for):
    """An agent's own leads and claim-pool leads, interleaved in time (ties on received_at too),
    and leads of someone else the agent must never see."""
    own = [lead_for(owner=org["agent"], received_at=T0 - dt.timedelta(minutes=3 * i)) for i in range(9)]
    pool = [lead_for(in_claim_pool=True, received_at=T0 - dt.timedelta(minutes=3 * i + 1)) for i in range(6)]
    tie = lead_for(in_claim_pool=True, received_at=T0 - dt.timedelta(minutes=3))  # same moment as own[1]
    hidden = [lead_for(owner=org["agent2"], received_at=T0 - dt.timedelta(minutes=3 * i + 2)) for i in range(5)]
    return own + pool + [tie], hidden


def ordered(qs):
    return qs.order_by("-received_at", "-id")


def test_pages_of_the_branches_are_the_pages_of_leads_for(org, mixed):
    visible, hidden = mixed
    user = org["agent"].user
    assert len(lead_scoping.leads_for_branches(user)) == 2
    expected = list(ordered(lead_scoping.leads_for(user)).values_list("pk", flat=True))
    assert sorted(expected) == sorted(lead.pk for lead in visible)
    got, number = [], 1
    while True:
        page = paginate_branches([ordered(b) for b in lead_scoping.leads_for_branches(user)], str(number), 4)
        got += [lead.pk for lead in page]
        assert page.has_previous == (number > 1)
        if not page.has_next:
            break
        number += 1
    assert got == expected
    assert number == 4  # 16 leads, 4 a page: the fourth page is full and has no next
    assert not {lead.pk for lead in hidden} & set(got)


def test_fetch_loads_the_page_with_its_relations_in_a_fixed_number_of_queries(org, mixed):
    user = org["agent"].user
    branches = [ordered(b) for b in lead_scoping.leads_for_branches(user)]
    with CaptureQueriesContext(connection) as queries:
        page = paginate_branches(branches, "1", 10, fetch=lambda qs: qs.select_related("customer"))
        names = [lead.customer.last_name for lead in page]
    assert len(names) == 10
    assert len(queries) == 2  # the merged keys, then the rows with their customers


def test_a_bad_page_or_unordered_branches_are_refused(org, mixed):
    branches = lead_scoping.leads_for_branches(org["agent"].user)
    with pytest.raises(InvalidPage):
        paginate_branches([ordered(b) for b in branches], "abc", 4)
    with pytest.raises(ValueError, match="ordered"):
        paginate_branches([ordered(branches[0]), branches[1].order_by("received_at")], "1", 4)


def test_one_branch_is_a_plain_page(org, mixed):
    branches = lead_scoping.leads_for_branches(org["director"].user)
    assert len(branches) == 1
    page = paginate_branches([ordered(branches[0])], "2", 5)
    assert [lead.pk for lead in page] == list(ordered(lead_scoping.leads_for(org["director"].user)).values_list("pk", flat=True))[5:10]


def test_the_api_pages_an_agents_own_and_pool_leads_in_one_order_with_its_filters(org, mixed, api_for):
    visible, _hidden = mixed
    client = api_for(org["agent"])
    expected = list(ordered(lead_scoping.leads_for(org["agent"].user)).values_list("pk", flat=True))
    got, url = [], "/api/v1/leads/?page_size=5"
    while url:
        body = client.get(url).json()
        got += [row["id"] for row in body["results"]]
        url = body["next"]
    assert got == expected
    pool_only = client.get("/api/v1/leads/?unassigned=true&page_size=50").json()["results"]
    assert [row["id"] for row in pool_only] == [pk for pk in expected if pk not in {lead.pk for lead in visible[:9]}]
    assert client.get("/api/v1/leads/?status=bogus").status_code == 400


def test_paginate_ids_loads_only_the_page_in_the_lists_order():
    """A scope worked out once (the manager's month of deals) pages by its ids: the page's rows come
    back in the list's order whatever order `fetch` returns them in, one more id says a next page."""
    from types import SimpleNamespace

    from common.pagination import paginate_ids

    asked = []

    def fetch(ids):
        asked.append(list(ids))
        return [SimpleNamespace(pk=pk) for pk in sorted(ids)]  # not the list's order

    ids = [9, 3, 7, 1, 5]
    first = paginate_ids(ids, None, 2, fetch=fetch)
    assert [row.pk for row in first] == [9, 3] and first.has_next and not first.has_previous
    last = paginate_ids(ids, "3", 2, fetch=fetch)
    assert [row.pk for row in last] == [5] and not last.has_next and last.has_previous
    assert asked == [[9, 3, 7], [5]]
    assert list(paginate_ids(ids, "9", 2, fetch=fetch)) == [] and len(asked) == 2  # nothing to load
    with pytest.raises(InvalidPage):
        paginate_ids(ids, "x", 2, fetch=fetch)
