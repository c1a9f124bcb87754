"""The distribution API: claim, assign, reassign, release, routing rules and their preview, the
receptionist's board, the manager's queue and notifications; every bad input and conflict of
the issue, the roles, the store scoping, the OpenAPI schema, and a 50-thread claim race."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone
from factories import ShiftFactory, StaffFactory, StoreFactory, TeamFactory
from rest_framework.test import APIClient

from distribution import services
from distribution.models import LeadRouting, Notification, RoutingRule, RoutingState
from leads.models import LeadAssignment, LeadStatus
from org.models import Role
from tests.distribution.floor import at, floor, new_lead, rule

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def round_the_clock(person) -> None:
    """The API acts at the real time of the test run: whoever must be on shift is, always."""
    person.shifts.all().delete()
    for weekday in range(7):
        ShiftFactory(staff=person, weekday=weekday, starts=dt.time(0), ends=dt.time(12))
        ShiftFactory(staff=person, weekday=weekday, starts=dt.time(12), ends=dt.time(0))


def person(store, role, username, first, last, **kwargs):
    return StaffFactory(store=store, role=role, user__username=username, user__first_name=first,
                        user__last_name=last, **kwargs)


@pytest.fixture
def shop(store):
    """North Motors: the Internet team (manager Max; Ann, Bob, Cat always on shift), a retail
    team with its own manager, a director, a receptionist and an admin."""
    team, manager, people = floor(store, names=("ann", "bob", "cat"))
    for member in people.values():
        round_the_clock(member)
    retail_manager = person(store, Role.SALES_MANAGER, "olga", "Olga", "Retail")
    retail_team = TeamFactory(store=store, name="Retail", manager=retail_manager)
    return SimpleNamespace(
        store=store, team=team, manager=manager, retail_manager=retail_manager, retail_team=retail_team,
        **people,
        rex=person(store, Role.RETAIL, "rex", "Rex", "Retail", team=retail_team),
        director=person(store, Role.INTERNET_DIRECTOR, "dora", "Dora", "Director"),
        receptionist=person(store, Role.RECEPTIONIST, "rita", "Rita", "Desk"),
        admin=person(store, Role.ADMIN, "adam", "Adam", "Admin"),
    )


@pytest.fixture
def south(other_store):
    """Another dealer group's store, with its own pool and a lead on each of its queues."""
    team, manager, people = floor(other_store, names=("zed",))
    round_the_clock(people["zed"])
    return SimpleNamespace(store=other_store, team=team, manager=manager, zed=people["zed"])


def routed(lead):
    """Route a lead now, as the after-commit task would."""
    assert services.lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    return lead


def post(client, url, body=None):
    return client.post(url, body if body is not None else {}, format="json")


def given_to(lead) -> list[int]:
    return list(LeadAssignment.objects.filter(lead=lead, to_staff__isnull=False).values_list("to_staff_id", flat=True))


# --- Claim ------------------------------------------------------------------------------------


def test_claim_then_a_late_claim_is_409_naming_the_holder(api_for, shop):
    rule(shop.store, team=shop.team, strategy="claim_pool", claim_minutes=10)
    lead = routed(new_lead(shop.store))
    assert lead.in_claim_pool and lead.owner is None

    first = post(api_for(shop.bob), f"/api/v1/leads/{lead.pk}/claim/")
    assert first.status_code == 200, first.content
    assert first.json()["owner"] == shop.bob.pk

    late = post(api_for(shop.ann), f"/api/v1/leads/{lead.pk}/claim/")
    assert late.status_code == 409
    assert late.json() == {"detail": "Bob Agent already has this lead.", "holder": shop.bob.pk}
    assert given_to(lead) == [shop.bob.pk]
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.state == RoutingState.ASSIGNED and routing.claim_due_at is None


def test_claim_by_a_salesperson_outside_the_pool_is_400_saying_so(api_for, shop):
    rule(shop.store, team=shop.team, strategy="claim_pool")
    lead = routed(new_lead(shop.store))
    response = post(api_for(shop.rex), f"/api/v1/leads/{lead.pk}/claim/")
    assert response.status_code == 400
    assert response.json() == {"lead": ["You are not in this lead's pool; ask your manager."]}
    lead.refresh_from_db()
    assert lead.owner is None and lead.in_claim_pool
    # Once someone holds it, the outsider still hears only that it is not theirs, not who has it.
    post(api_for(shop.cat), f"/api/v1/leads/{lead.pk}/claim/")
    again = post(api_for(shop.rex), f"/api/v1/leads/{lead.pk}/claim/")
    assert again.status_code == 400 and "Cat" not in again.content.decode()


def test_managers_do_not_claim_and_another_stores_pool_lead_is_404(api_for, shop, south):
    rule(shop.store, team=shop.team, strategy="claim_pool")
    rule(south.store, team=south.team, strategy="claim_pool")
    lead = routed(new_lead(shop.store))
    foreign = routed(new_lead(south.store))
    manager = post(api_for(shop.manager), f"/api/v1/leads/{lead.pk}/claim/")
    assert manager.status_code == 400 and "Only salespeople claim" in manager.json()["lead"][0]
    assert post(api_for(shop.ann), f"/api/v1/leads/{foreign.pk}/claim/").status_code == 404
    assert post(api_for(south.zed), f"/api/v1/leads/{lead.pk}/claim/").status_code == 404
    foreign.refresh_from_db()
    lead.refresh_from_db()
    assert foreign.owner is None and lead.owner is None


# --- Assign (the existing endpoint, now pool-checked) ------------------------------------------


def test_assign_gives_a_manager_queue_lead_to_a_pool_member_with_the_history(api_for, shop):
    rule(shop.store, name="Manager picks", team=shop.team, strategy="manager")
    lead = routed(new_lead(shop.store))
    assert lead.routing.state == RoutingState.MANAGER

    response = post(api_for(shop.manager), f"/api/v1/leads/{lead.pk}/assign/", {"owner": shop.cat.pk})
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == shop.cat.pk and response.json()["in_claim_pool"] is False
    lead.refresh_from_db()
    assert lead.owner == shop.cat and lead.routing.state == RoutingState.ASSIGNED
    last = lead.assignments.last()
    assert (last.to_staff, last.assigned_by, last.rule_name) == (shop.cat, shop.manager, "Manager picks")
    assert Notification.objects.filter(staff=shop.cat, lead=lead, kind="new_lead").exists()


def test_assign_to_someone_outside_the_pool_or_the_store_is_400_naming_why(api_for, shop, south):
    rule(shop.store, team=shop.team, strategy="manager")
    lead = routed(new_lead(shop.store))
    sister = StaffFactory(store=StoreFactory(group=shop.store.group), role=Role.INTERNET_AGENT)
    cases = [
        (shop.manager, shop.rex.pk, "Rex Retail is not in this lead's pool (rule “Everything”)."),
        (shop.admin, sister.pk, "That person is not staff of this lead's store."),
        (shop.director, south.zed.pk, "Unknown staff member for this lead's store."),
        (shop.director, 999999, "Unknown staff member for this lead's store."),
    ]
    for who, owner, message in cases:
        response = post(api_for(who), f"/api/v1/leads/{lead.pk}/assign/", {"owner": owner})
        assert response.status_code == 400, (who, owner)
        assert response.json() == {"owner": [message]}
    lead.refresh_from_db()
    assert lead.owner is None and given_to(lead) == []


# --- Reassign ---------------------------------------------------------------------------------


def test_reassign_to_the_next_in_line_then_to_a_named_member(api_for, shop):
    rule(shop.store, name="Internet", team=shop.team)
    lead = routed(new_lead(shop.store))
    assert lead.owner == shop.ann
    client = api_for(shop.manager)

    onward = post(client, f"/api/v1/leads/{lead.pk}/reassign/", {"to": None})
    assert onward.status_code == 200, onward.content
    assert onward.json()["owner"] == shop.bob.pk
    moved = LeadAssignment.objects.filter(lead=lead).last()
    assert (moved.from_staff, moved.to_staff, moved.assigned_by) == (shop.ann, shop.bob, shop.manager)
    assert moved.reason.startswith("Reassigned by Max Manager:") and moved.rule_name == "Internet"

    named = post(client, f"/api/v1/leads/{lead.pk}/reassign/", {"to": shop.cat.pk, "reason": "Speaks Spanish"})
    assert named.status_code == 200 and named.json()["owner"] == shop.cat.pk
    last = LeadAssignment.objects.filter(lead=lead).last()
    assert (last.from_staff, last.to_staff, last.reason) == (shop.bob, shop.cat, "Speaks Spanish")
    assert given_to(lead) == [shop.ann.pk, shop.bob.pk, shop.cat.pk]


def test_reassign_bad_input_is_400_with_field_messages(api_for, shop, south):
    rule(shop.store, team=shop.team)
    lead = routed(new_lead(shop.store))
    client = api_for(shop.director)
    url = f"/api/v1/leads/{lead.pk}/reassign/"
    assert post(client, url, {"to": shop.rex.pk}).json() == {
        "to": ["Rex Retail is not in this lead's pool (rule “Everything”)."]
    }
    assert post(client, url, {"to": south.zed.pk}).json() == {"to": [f"Unknown staff member {south.zed.pk}."]}
    missing = post(client, url, {})
    assert missing.status_code == 400 and "to" in missing.json()
    assert post(client, url, {"to": "bob"}).status_code == 400

    no_rule = new_lead(shop.store)  # never routed: no rule, no line to take the next from
    response = post(client, f"/api/v1/leads/{no_rule.pk}/reassign/", {"to": None})
    assert response.status_code == 400 and "no routing rule" in response.json()["to"][0]

    lead.status = LeadStatus.SOLD
    lead.save(update_fields=["status"])
    closed = post(client, url, {"to": shop.bob.pk})
    assert closed.status_code == 400 and closed.json() == {"lead": ["This lead is sold; it cannot be reassigned."]}
    lead.refresh_from_db()
    assert lead.owner == shop.ann and given_to(lead) == [shop.ann.pk]


@pytest.mark.parametrize(("who", "code"), [("ann", 403), ("receptionist", 403), ("rex", 404), ("manager", 200),
                                           ("director", 200), ("admin", 200)])
def test_who_may_reassign(api_for, shop, who, code):
    rule(shop.store, team=shop.team)
    lead = routed(new_lead(shop.store))
    response = post(api_for(getattr(shop, who)), f"/api/v1/leads/{lead.pk}/reassign/", {"to": shop.cat.pk})
    assert response.status_code == code
    lead.refresh_from_db()
    assert lead.owner == (shop.cat if code == 200 else shop.ann)


def test_another_stores_lead_is_404_for_reassign_release_and_assign(api_for, shop, south):
    rule(south.store, team=south.team)
    foreign = routed(new_lead(south.store))
    for action, body in [("reassign", {"to": None}), ("release", {}), ("assign", {"owner": shop.ann.pk})]:
        for who in (shop.director, shop.admin, shop.manager):
            assert post(api_for(who), f"/api/v1/leads/{foreign.pk}/{action}/", body).status_code == 404
    foreign.refresh_from_db()
    assert foreign.owner == south.zed and given_to(foreign) == [south.zed.pk]


# --- Release ----------------------------------------------------------------------------------


def test_the_owner_releases_a_lead_and_it_goes_to_the_next_in_line(api_for, shop):
    rule(shop.store, team=shop.team)
    lead = routed(new_lead(shop.store))
    assert lead.owner == shop.ann
    response = post(api_for(shop.ann), f"/api/v1/leads/{lead.pk}/release/")
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == shop.bob.pk
    assert lead.assignments.last().reason.startswith("Released by Ann Agent.")


@pytest.mark.parametrize(("who", "code"), [("bob", 404), ("receptionist", 403), ("retail_manager", 404),
                                           ("manager", 200), ("director", 200)])
def test_who_may_release(api_for, shop, who, code):
    rule(shop.store, team=shop.team)
    lead = routed(new_lead(shop.store))
    response = post(api_for(getattr(shop, who)), f"/api/v1/leads/{lead.pk}/release/")
    assert response.status_code == code
    lead.refresh_from_db()
    assert (lead.owner != shop.ann) is (code == 200)


def test_releasing_a_lead_nobody_owns_is_400(api_for, shop):
    rule(shop.store, team=shop.team, strategy="manager")
    lead = routed(new_lead(shop.store))
    response = post(api_for(shop.manager), f"/api/v1/leads/{lead.pk}/release/")
    assert response.status_code == 400
    assert response.json() == {"lead": ["Nobody owns this lead; there is nothing to release."]}


# --- Routing rules ----------------------------------------------------------------------------


RULES = "/api/v1/routing-rules/"


def test_director_creates_edits_and_deletes_a_rule(api_for, shop):
    client = api_for(shop.director)
    body = {"name": "Used Hondas", "condition": "used", "make": "Honda", "strategy": "round_robin",
            "pool_teams": [shop.team.pk], "pool_staff": [shop.rex.pk], "open_new_cap": 3}
    created = post(client, RULES, body)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["store"] == shop.store.pk and data["pool_teams"] == [shop.team.pk] and data["position"] == 1
    rule_ = RoutingRule.objects.get(pk=data["id"])
    assert list(rule_.pool_staff.all()) == [shop.rex]

    edited = client.patch(f"{RULES}{rule_.pk}/", {"strategy": "claim_pool", "claim_minutes": 10}, format="json")
    assert edited.status_code == 200, edited.content
    assert edited.json()["strategy"] == "claim_pool" and edited.json()["pool_staff"] == [shop.rex.pk]
    assert client.get(RULES).json()["results"][0]["id"] == rule_.pk

    assert client.delete(f"{RULES}{rule_.pk}/").status_code == 204
    assert not RoutingRule.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"strategy": "round_robin"}, "pool_staff", "The pool is empty: choose teams, named staff or a role."),
        ({"strategy": "round_robin", "pool_role": "fleet"}, "pool_staff", "The pool has nobody in it"),
        ({"pool_role": "internet_agent"}, "strategy", "Choose how this rule hands out leads (a strategy)."),
        ({"strategy": "", "pool_role": "internet_agent"}, "strategy", "Choose how this rule hands out leads"),
        ({"strategy": "lottery", "pool_role": "internet_agent"}, "strategy", "not a valid choice"),
        ({"strategy": "round_robin", "pool_staff": [999999]}, "pool_staff", "Unknown id 999999."),
    ],
)
def test_a_bad_rule_is_400_naming_the_field_and_nothing_is_saved(api_for, shop, body, field, message):
    response = post(api_for(shop.director), RULES, {"name": "Bad", **body})
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert not RoutingRule.objects.exists()


def test_pool_members_of_another_store_are_refused(api_for, shop, south):
    sister = StoreFactory(group=shop.store.group)
    sister_team = TeamFactory(store=sister, name="Sister team")
    client = api_for(shop.admin)  # an admin sees the group's stores, so the ids resolve
    response = post(client, RULES, {"name": "Mixed", "strategy": "round_robin", "pool_teams": [sister_team.pk]})
    assert response.status_code == 400
    assert response.json() == {"pool_teams": ["A pool team must belong to this store."]}
    foreign = post(api_for(shop.director), RULES, {"name": "Mixed", "strategy": "round_robin",
                                                  "pool_staff": [south.zed.pk]})
    assert foreign.status_code == 400 and foreign.json() == {"pool_staff": [f"Unknown id {south.zed.pk}."]}
    assert not RoutingRule.objects.exists()


def test_a_second_fallback_rule_is_refused(api_for, shop):
    rule(shop.store, name="Catch-all", team=shop.team, is_fallback=True)
    response = post(api_for(shop.director), RULES, {"name": "Another", "strategy": "manager", "is_fallback": True,
                                                   "pool_teams": [shop.team.pk]})
    assert response.status_code == 400
    assert response.json() == {"is_fallback": ["“Catch-all” is already this store's fallback rule."]}
    assert RoutingRule.objects.count() == 1


def test_an_edit_that_empties_the_pool_is_refused_and_the_rule_kept(api_for, shop):
    kept = rule(shop.store, team=shop.team)
    response = api_for(shop.director).patch(f"{RULES}{kept.pk}/", {"pool_teams": [], "name": "Empty"}, format="json")
    assert response.status_code == 400 and "pool_staff" in response.json()
    kept.refresh_from_db()
    assert kept.name == "Everything" and list(kept.pool_teams.all()) == [shop.team]


def test_a_rule_stays_in_its_store(api_for, shop):
    sister = StoreFactory(group=shop.store.group)
    kept = rule(shop.store, team=shop.team)
    response = api_for(shop.admin).patch(f"{RULES}{kept.pk}/", {"store": sister.pk}, format="json")
    assert response.status_code == 400 and "stays in its store" in response.json()["store"][0]


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [("ann", 403, 403), ("receptionist", 403, 403), ("manager", 200, 403), ("director", 200, 201), ("admin", 200, 201)],
)
def test_managers_read_rules_directors_and_admins_write_them(api_for, shop, who, read, write):
    existing = rule(shop.store, team=shop.team)
    client = api_for(getattr(shop, who))
    assert client.get(RULES).status_code == read
    assert client.get(f"{RULES}{existing.pk}/").status_code == read
    created = post(client, RULES, {"name": "New", "strategy": "round_robin", "pool_teams": [shop.team.pk]})
    assert created.status_code == write
    patched = client.patch(f"{RULES}{existing.pk}/", {"name": "Renamed"}, format="json")
    assert patched.status_code == (200 if write == 201 else write)
    existing.refresh_from_db()
    assert existing.name == ("Renamed" if write == 201 else "Everything")
    assert RoutingRule.objects.count() == (2 if write == 201 else 1)


def test_another_stores_rules_are_absent(api_for, shop, south):
    theirs = rule(south.store, team=south.team)
    client = api_for(shop.director)
    assert client.get(RULES).json()["results"] == []
    assert client.get(f"{RULES}{theirs.pk}/").status_code == 404
    assert client.patch(f"{RULES}{theirs.pk}/", {"name": "Hacked"}, format="json").status_code == 404
    assert client.delete(f"{RULES}{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Everything"


def test_preview_says_where_a_sample_lead_would_go_and_writes_nothing(api_for, shop):
    rule(shop.store, name="Used", team=shop.team, condition="used")
    shop.bob.available = False
    shop.bob.save()
    client = api_for(shop.manager)
    response = post(client, f"{RULES}preview/", {"condition": "used", "make": "Honda", "at": at(10).isoformat()})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["rule"]["name"] == "Used" and "condition is used" in data["why"]
    assert data["owner"] == {"id": shop.ann.pk, "name": "Ann Agent"}
    assert data["state"] == "assigned" and data["strategy"] == "Round robin (next in line)"
    assert data["skipped"] == [{"staff": shop.bob.pk, "name": "Bob Agent", "reason": "unavailable"}]
    assert data["upcoming"][:2] == ["Ann Agent", "Cat Agent"]

    nothing = post(client, f"{RULES}preview/", {"condition": "new"}).json()
    assert nothing["rule"] is None and nothing["owner"] is None and nothing["state"] == "manager"
    assert "no routing rule matched" in nothing["why"] and "manager queue" in nothing["reason"]
    assert not LeadAssignment.objects.exists() and not LeadRouting.objects.exists()


def test_preview_bad_input(api_for, shop, south):
    client = api_for(shop.director)
    assert post(client, f"{RULES}preview/", {"condition": "nearly new"}).json()["condition"]
    assert post(client, f"{RULES}preview/", {"store": south.store.pk}).json() == {
        "store": [f"Unknown store {south.store.pk}."]
    }
    assert post(client, f"{RULES}preview/", {"at": "tomorrow"}).status_code == 400
    assert post(api_for(shop.ann), f"{RULES}preview/", {}).status_code == 403


# --- The receptionist's board ---------------------------------------------------------------------


@pytest.fixture
def board(shop, south):
    rule(shop.store, name="Floor", team=shop.team, strategy="receptionist")
    rule(south.store, team=south.team, strategy="receptionist")
    first = routed(new_lead(shop.store, condition="used", make="Honda", stock="T123", provider="Cars.com"))
    second = routed(new_lead(shop.store))
    foreign = routed(new_lead(south.store))
    return SimpleNamespace(first=first, second=second, foreign=foreign)


def test_the_board_lists_waiting_leads_and_who_is_on_the_floor(api_for, shop, board):
    shop.cat.available = False
    shop.cat.save()
    response = api_for(shop.receptionist).get("/api/v1/board/")
    assert response.status_code == 200, response.content
    data = response.json()
    assert [row["id"] for row in data["leads"]] == [board.first.pk, board.second.pk]
    first = data["leads"][0]
    assert first["customer"] == str(board.first.customer) and first["provider"] == "Cars.com"
    assert first["vehicle"] == "Used Honda, stock T123" and first["state"] == "board"
    assert first["rule_name"] == "Floor" and first["waited_seconds"] >= 0 and first["queued_at"]
    on_floor = [{"id": shop.ann.pk, "name": "Ann Agent"}, {"id": shop.bob.pk, "name": "Bob Agent"}]
    assert first["floor"] == on_floor and data["floor"] == on_floor


def test_hand_once_the_second_click_is_409_naming_the_holder(api_for, shop, board):
    client = api_for(shop.receptionist)
    url = f"/api/v1/board/{board.first.pk}/hand/"
    handed = post(client, url, {"to": shop.bob.pk})
    assert handed.status_code == 200, handed.content
    assert handed.json()["owner"] == shop.bob.pk
    again = post(client, url, {"to": shop.ann.pk})
    assert again.status_code == 409
    assert again.json() == {"detail": "Bob Agent already has this lead.", "holder": shop.bob.pk}
    assert given_to(board.first) == [shop.bob.pk]
    assert [row["id"] for row in client.get("/api/v1/board/").json()["leads"]] == [board.second.pk]


def test_hand_bad_input(api_for, shop, south, board):
    client = api_for(shop.receptionist)
    url = f"/api/v1/board/{board.first.pk}/hand/"
    assert post(client, url, {"to": shop.rex.pk}).json() == {"to": ["Rex Retail is not in this lead's pool (rule “Floor”)."]}
    assert post(client, url, {"to": south.zed.pk}).json() == {"to": [f"Unknown staff member {south.zed.pk}."]}
    assert post(client, url, {}).status_code == 400
    assert post(client, f"/api/v1/board/{board.foreign.pk}/hand/", {"to": shop.ann.pk}).status_code == 404
    RoutingRule.objects.filter(name="Floor").update(position=5)
    rule(shop.store, name="Manager", team=shop.team, strategy="manager", condition="new", position=1)
    queued = routed(new_lead(shop.store, condition="new"))
    off_board = post(client, f"/api/v1/board/{queued.pk}/hand/", {"to": shop.ann.pk})
    assert off_board.status_code == 400 and "not on the board" in off_board.json()["lead"][0]
    assert given_to(board.first) == [] and given_to(board.foreign) == [] and given_to(queued) == []


@pytest.mark.parametrize(("who", "code"), [("ann", 403), ("rex", 403), ("receptionist", 200), ("manager", 200),
                                           ("director", 200), ("admin", 200)])
def test_who_works_the_board(api_for, shop, board, who, code):
    client = api_for(getattr(shop, who))
    assert client.get("/api/v1/board/").status_code == code
    assert post(client, f"/api/v1/board/{board.second.pk}/hand/", {"to": shop.cat.pk}).status_code == code
    assert given_to(board.second) == ([shop.cat.pk] if code == 200 else [])


def test_the_board_never_shows_another_stores_leads(api_for, shop, south, board):
    for who in (shop.receptionist, shop.director, shop.admin):
        ids = {row["id"] for row in api_for(who).get("/api/v1/board/").json()["leads"]}
        assert ids == {board.first.pk, board.second.pk}
    theirs = StaffFactory(store=south.store, role=Role.RECEPTIONIST)
    assert [row["id"] for row in api_for(theirs).get("/api/v1/board/").json()["leads"]] == [board.foreign.pk]


# --- The manager's queue ------------------------------------------------------------------------


@pytest.fixture
def queue(shop, south):
    """A lead no rule matched, one of the Internet team's manager-assigns rule, one waiting for a
    shift (its pool's only member starts in six hours), and another store's unmatched lead."""
    rule(shop.store, name="Internet picks", team=shop.team, strategy="manager", condition="new")
    night = person(shop.store, Role.INTERNET_AGENT, "nia", "Nia", "Night")
    later = (timezone.now() + dt.timedelta(hours=6)).astimezone(shop.store.tz)
    ShiftFactory(staff=night, weekday=later.weekday(), starts=dt.time(later.hour),
                 ends=dt.time((later.hour + 1) % 24))
    rule(shop.store, name="Nights", staff=[night], condition="used")
    unmatched = routed(new_lead(shop.store, interest="trade-in"))
    internet = routed(new_lead(shop.store, condition="new"))
    waiting = routed(new_lead(shop.store, condition="used"))
    assert (unmatched.routing.state, internet.routing.state, waiting.routing.state) == ("manager", "manager", "waiting")
    foreign = routed(new_lead(south.store))
    # A lead someone already has is not on the queue.
    RoutingRule.objects.filter(name="Internet picks").update(strategy="round_robin")
    given = routed(new_lead(shop.store, condition="new"))
    assert given.owner is not None
    return SimpleNamespace(unmatched=unmatched, internet=internet, waiting=waiting, foreign=foreign)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("manager", {"unmatched", "internet", "waiting"}), ("retail_manager", {"unmatched", "waiting"}),
     ("director", {"unmatched", "internet", "waiting"}), ("admin", {"unmatched", "internet", "waiting"})],
)
def test_the_manager_queue_shows_each_manager_their_leads(api_for, shop, queue, who, expected):
    response = api_for(getattr(shop, who)).get("/api/v1/manager-queue/")
    assert response.status_code == 200, response.content
    rows = {row["id"]: row for row in response.json()["results"]}
    names = {getattr(queue, name).pk: name for name in ("unmatched", "internet", "waiting", "foreign")}
    assert {names.get(pk, pk) for pk in rows} == expected
    unmatched = rows[queue.unmatched.pk]
    assert unmatched["state"] == "manager" and unmatched["rule_name"] == ""
    assert unmatched["warning"] == "No routing rule matched this lead: add a rule or a fallback rule."
    assert unmatched["queued_at"] and unmatched["waited_seconds"] >= 0
    assert rows[queue.waiting.pk]["state"] == "waiting" and rows[queue.waiting.pk]["rule_name"] == "Nights"


@pytest.mark.parametrize("who", ["ann", "rex", "receptionist"])
def test_only_managers_see_the_manager_queue(api_for, shop, queue, who):
    assert api_for(getattr(shop, who)).get("/api/v1/manager-queue/").status_code == 403


# --- Notifications ------------------------------------------------------------------------------


def test_notifications_are_the_callers_own_newest_first_and_can_be_read(api_for, shop):
    rule(shop.store, team=shop.team)
    leads = [routed(new_lead(shop.store)) for _ in range(4)]  # Ann, Bob, Cat, Ann
    assert [lead.owner for lead in leads] == [shop.ann, shop.bob, shop.cat, shop.ann]
    client = api_for(shop.ann)
    mine = client.get("/api/v1/notifications/").json()["results"]
    assert [row["lead"] for row in mine] == [leads[3].pk, leads[0].pk]
    assert mine[0]["kind"] == "new_lead" and mine[0]["read_at"] is None

    read_one = post(client, "/api/v1/notifications/read/", {"ids": [mine[1]["id"]]})
    assert read_one.json() == {"read": 1}
    assert [row["lead"] for row in client.get("/api/v1/notifications/?unread=1").json()["results"]] == [leads[3].pk]
    # Another person's notification id reads nothing.
    bobs = Notification.objects.get(staff=shop.bob)
    assert post(client, "/api/v1/notifications/read/", {"ids": [bobs.pk]}).json() == {"read": 0}
    assert post(client, "/api/v1/notifications/read/", {}).json() == {"read": 1}
    assert client.get("/api/v1/notifications/?unread=1").json()["results"] == []
    assert len(client.get("/api/v1/notifications/").json()["results"]) == 2
    bobs.refresh_from_db()
    assert bobs.read_at is None


def test_notifications_bad_input(api_for, shop):
    client = api_for(shop.ann)
    assert client.get("/api/v1/notifications/?unread=maybe").status_code == 400
    assert post(client, "/api/v1/notifications/read/", {"ids": ["x"]}).status_code == 400
    assert post(client, "/api/v1/notifications/read/", {"ids": 5}).status_code == 400


# --- OpenAPI ------------------------------------------------------------------------------------


def test_the_schema_documents_every_distribution_endpoint(api_for, shop):
    response = api_for(shop.director).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    expected = {
        "/api/v1/leads/{id}/claim/": "post", "/api/v1/leads/{id}/assign/": "post",
        "/api/v1/leads/{id}/reassign/": "post", "/api/v1/leads/{id}/release/": "post",
        "/api/v1/routing-rules/": "post", "/api/v1/routing-rules/{id}/": "patch",
        "/api/v1/routing-rules/preview/": "post", "/api/v1/board/": "get", "/api/v1/board/{id}/hand/": "post",
        "/api/v1/manager-queue/": "get", "/api/v1/notifications/": "get", "/api/v1/notifications/read/": "post",
    }
    for path, method in expected.items():
        assert method in paths.get(path, {}), path
    hand = paths["/api/v1/board/{id}/hand/"]["post"]
    assert hand["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/BoardHand")
    assert hand["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Conflict")
    reassign = paths["/api/v1/leads/{id}/reassign/"]["post"]
    assert reassign["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/LeadReassign")
    board = paths["/api/v1/board/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert board["$ref"].endswith("/Board")
    assert "floor" in schema["components"]["schemas"]["BoardLead"]["properties"]
    preview = schema["components"]["schemas"]["RulePreviewResult"]["properties"]
    assert {"rule", "why", "strategy", "owner", "state", "reason", "skipped", "upcoming"} <= set(preview)


# --- Race: 50 simultaneous claims through the API ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_claims_of_a_claim_pool_rules_lead_have_exactly_one_winner(store):
    names = tuple(f"racer{i:02d}" for i in range(50))
    team, _, people = floor(store, names=names)
    rule(store, name="Pool", team=team, strategy="claim_pool", claim_minutes=10)
    lead = new_lead(store, received_at=at(10))
    assert services.lead_route(lead_id=lead.pk, now=at(10))
    lead.refresh_from_db()
    assert lead.in_claim_pool and lead.owner is None
    agents = list(people.values())
    clients = {}
    for agent in agents:
        clients[agent.pk] = APIClient()
        clients[agent.pk].force_authenticate(user=agent.user)
    barrier = threading.Barrier(len(agents))
    answers: dict[int, tuple[int, dict]] = {}

    def claim(agent):
        try:
            barrier.wait(timeout=30)
            response = clients[agent.pk].post(f"/api/v1/leads/{lead.pk}/claim/")
            answers[agent.pk] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == 50
    codes = sorted(code for code, _ in answers.values())
    assert codes == [200] + [409] * 49
    (winner,) = [pk for pk, (code, _) in answers.items() if code == 200]
    winner_name = next(a.display_name for a in agents if a.pk == winner)
    losers = [body for code, body in answers.values() if code == 409]
    assert losers == [{"detail": f"{winner_name} already has this lead.", "holder": winner}] * 49
    lead.refresh_from_db()
    assert lead.owner_id == winner and lead.in_claim_pool is False
    assert LeadAssignment.objects.filter(lead=lead, to_staff__isnull=False).count() == 1
    assert LeadRouting.objects.get(lead=lead).state == RoutingState.ASSIGNED
