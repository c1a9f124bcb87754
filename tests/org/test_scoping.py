"""org.scoping: who sees which leads, customers, events, staff, teams, stores and rejected intakes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from factories import ContactEventFactory, StaffFactory, StoreFactory, TeamFactory, UserFactory

from leads import scoping as lead_scoping
from leads.models import RejectedIntake
from org import scoping

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def visible(queryset, named: dict) -> set[str]:
    """The names of the objects of `named` that the queryset contains."""
    ids = set(queryset.values_list("pk", flat=True))
    return {name for name, obj in named.items() if obj.pk in ids}


@pytest.fixture
def sister_store(store):
    """Another store of the same dealer group."""
    return StoreFactory(group=store.group, slug="north-motors-west", name="North Motors West")


@pytest.fixture
def leads(org, store, other_store, sister_store, lead_for):
    now = timezone.now()
    long_ago = now - dt.timedelta(days=3)
    return {
        "agent_own": lead_for(owner=org["agent"]),
        "retail_own": lead_for(owner=org["retail"]),  # Team A, managed by the manager
        "agent2_today": lead_for(owner=org["agent2"], received_at=now - dt.timedelta(hours=23)),  # Team B
        "agent2_old": lead_for(owner=org["agent2"], received_at=long_ago),
        "pool": lead_for(in_claim_pool=True, received_at=long_ago),
        "unassigned_old": lead_for(received_at=long_ago),  # routed nowhere yet: not in the claim pool
        "sister_store": lead_for(store=sister_store),
        "other_group": lead_for(store=other_store, in_claim_pool=True),
    }


STORE_LEADS = {"agent_own", "retail_own", "agent2_today", "agent2_old", "pool", "unassigned_old"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("agent", {"agent_own", "pool"}),
        ("retail", {"retail_own", "pool"}),
        ("agent2", {"agent2_today", "agent2_old", "pool"}),
        ("manager", {"agent_own", "retail_own", "pool", "unassigned_old"}),
        ("director", STORE_LEADS),
        ("receptionist", {"pool", "unassigned_old", "agent_own", "retail_own", "agent2_today"}),
        ("admin", STORE_LEADS | {"sister_store"}),
    ],
)
def test_leads_for_each_role(org, leads, role, expected):
    assert visible(lead_scoping.leads_for(org[role].user), leads) == expected


def test_claim_pool_lead_with_an_owner_is_not_in_the_pool(org, lead_for):
    taken = lead_for(owner=org["agent2"], in_claim_pool=True)
    assert not lead_scoping.leads_for(org["agent"].user).filter(pk=taken.pk).exists()


def test_superuser_without_staff_sees_everything_and_plain_users_nothing(leads):
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert visible(lead_scoping.leads_for(superuser), leads) == set(leads)
    assert visible(lead_scoping.leads_for(UserFactory(username="nobody")), leads) == set()


def test_inactive_staff_sees_nothing(org, leads):
    org["director"].is_active = False
    org["director"].save()
    user = type(org["director"].user).objects.get(pk=org["director"].user_id)  # fresh: no cached viewer
    assert visible(lead_scoping.leads_for(user), leads) == set()
    assert not scoping.stores_for(user).exists()


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("agent", {"agent_own", "pool"}),
        ("manager", {"agent_own", "retail_own", "pool", "unassigned_old"}),
        ("director", STORE_LEADS),
        ("admin", STORE_LEADS | {"sister_store"}),
    ],
)
def test_customers_and_events_follow_the_leads(org, leads, role, expected):
    events = {name: ContactEventFactory(lead=lead) for name, lead in leads.items()}
    customers = {name: lead.customer for name, lead in leads.items()}
    user = org[role].user
    assert visible(lead_scoping.customers_for(user), customers) == expected
    assert visible(lead_scoping.contact_events_for(user), events) == expected


@pytest.mark.parametrize(("role", "sees_sister"), [("agent", False), ("director", False), ("admin", True)])
def test_stores_staff_and_teams(org, store, other_store, sister_store, role, sees_sister):
    stores = {"own": store, "sister": sister_store, "other": other_store}
    staff = {
        "own": org["agent"],
        "sister": StaffFactory(store=sister_store),
        "other": StaffFactory(store=other_store),
    }
    teams = {"own": org["team"], "sister": TeamFactory(store=sister_store), "other": TeamFactory(store=other_store)}
    expected = {"own", "sister"} if sees_sister else {"own"}
    user = org[role].user
    assert visible(scoping.stores_for(user), stores) == expected
    assert visible(scoping.staff_for(user), staff) == expected
    assert visible(scoping.teams_for(user), teams) == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [("agent", set()), ("manager", set()), ("receptionist", set()), ("director", {"own"}), ("admin", {"own", "sister"})],
)
def test_rejected_intakes_only_for_directors_and_admins(org, store, other_store, sister_store, role, expected):
    rejected = {
        name: RejectedIntake.objects.create(store=s, channel="adf", reason="not_xml", message="Not XML.")
        for name, s in {"own": store, "sister": sister_store, "other": other_store}.items()
    }
    assert visible(lead_scoping.rejected_intakes_for(org[role].user), rejected) == expected


def test_scoped_dispatches_by_model_and_refuses_unknown_models(org, leads):
    from leads.models import Lead, LeadVehicle

    assert visible(scoping.scoped(org["agent"].user, Lead), leads) == {"agent_own", "pool"}
    with pytest.raises(LookupError):
        scoping.scoped(org["agent"].user, LeadVehicle)


def test_can_manage_store(org, store, other_store, sister_store):
    assert scoping.can_manage_store(org["director"].user, store)
    assert not scoping.can_manage_store(org["director"].user, sister_store)
    assert not scoping.can_manage_store(org["manager"].user, store)
    assert scoping.can_manage_store(org["admin"].user, sister_store)
    assert not scoping.can_manage_store(org["admin"].user, other_store)


def test_admin_lead_changelist_shows_only_the_group_admins_group(client, org, leads):
    admin_user = org["admin"].user
    admin_user.is_staff = True
    admin_user.save()
    admin_user.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(admin_user)

    response = client.get("/admin/leads/lead/")

    assert response.status_code == 200
    shown = {lead.pk for lead in response.context["cl"].result_list}
    assert shown == {lead.pk for name, lead in leads.items() if name != "other_group"}
    # Another group's lead by id: the admin answers "doesn't exist" and sends the user to the index.
    response = client.get(f"/admin/leads/lead/{leads['other_group'].pk}/change/")
    assert response.status_code == 302 and response.url == "/admin/"


@pytest.mark.parametrize("role", ["agent", "retail", "agent2", "manager", "director", "receptionist", "admin"])
def test_the_branches_are_disjoint_and_their_union_is_leads_for(org, leads, role):
    """The lead lists page leads_for branch by branch (common.pagination.paginate_branches): the
    branches must cover exactly what leads_for covers, each lead once."""
    user = org[role].user
    branches = [set(branch.values_list("pk", flat=True)) for branch in lead_scoping.leads_for_branches(user)]
    union = set().union(*branches)
    assert sum(len(ids) for ids in branches) == len(union)
    assert union == set(lead_scoping.leads_for(user).values_list("pk", flat=True))
    assert visible(lead_scoping.leads_for(user), leads) == {name for name, lead in leads.items() if lead.pk in union}
