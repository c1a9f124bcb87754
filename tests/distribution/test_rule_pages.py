"""The routing rules pages: the rules as sentences, create / edit / reorder / turn off / delete,
who may do what, and the preview of a sample lead."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from factories import LeadFactory, StaffFactory, StoreFactory, TeamFactory

from distribution.models import LeadRouting, RotationSlot, RoutingRule
from leads.models import LeadStatus
from org.models import Role
from tests.distribution.floor import floor, rule

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

LIST = reverse("distribution_rules:list")
NEW = reverse("distribution_rules:new")
PREVIEW = reverse("distribution_rules:preview")


def text(response) -> str:
    """The page as a person reads it: tags removed, entities decoded, whitespace collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def client_for(client, staff):
    client.force_login(staff.user)
    return client


@pytest.fixture
def shop(store):
    team, manager, people = floor(store)
    director = StaffFactory(store=store, role=Role.INTERNET_DIRECTOR, user__username="dora",
                            user__first_name="Dora", user__last_name="Director")
    return {"team": team, "manager": manager, "director": director, **people}


def form_data(store, **fields):
    data = {
        "store": store.pk, "name": "Used Hondas", "enabled": "on", "strategy": "round_robin",
        "response_minutes": 20, "max_moves": 2, "condition": "", "make": "", "lead_kind": "",
        "source_type": "", "provider": "", "stock_numbers": "", "pool_role": "", "open_new_cap": "",
        "claim_minutes": "", "after_hours_staff": "", "manager": "",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


# --- the list -------------------------------------------------------------------------------------


def test_list_shows_each_rule_as_a_sentence_in_order_with_the_fallback_last(client, store, shop):
    rule(store, name="Everything else", team=shop["team"], is_fallback=True, strategy="manager")
    rule(store, name="Used Hondas", team=shop["team"], condition="used", make="Honda",
         strategy="round_robin_reassign", response_minutes=20, max_moves=2, open_new_cap=5)
    rule(store, name="CarGurus leases", staff=[shop["ann"], shop["bob"]], provider="CarGurus", lead_kind="lease",
         strategy="claim_pool", claim_minutes=15, after_hours_staff=shop["dan"])
    page = text(client_for(client, shop["director"]).get(LIST))
    first = ("Used Honda leads → round robin with reassignment (20 min, then manager after 2 moves) "
             "among Team Internet; skip at 5 open new leads")
    second = ("Lease leads from CarGurus → claim pool (round robin after 15 min unclaimed) "
              "for Ann Agent and Bob Agent; after hours to Dan Agent")
    third = "Every lead no rule above takes → manager assigns for Team Internet"
    assert first in page and second in page and third in page
    assert page.index(first) < page.index(second) < page.index(third)
    assert "No fallback rule" not in page
    assert "+ New rule" in page and "Turn off" in page


def test_list_warns_when_the_store_has_no_fallback(client, store, shop):
    page = text(client_for(client, shop["director"]).get(LIST))
    assert "No fallback rule" in page and "has no routing rules yet" in page


# --- create / edit ---------------------------------------------------------------------------------


def test_create_with_an_empty_pool_shows_the_error_and_saves_nothing(client, store, shop):
    response = client_for(client, shop["director"]).post(NEW, form_data(store))
    assert response.status_code == 422
    assert "The pool is empty: choose teams, named staff or a role." in text(response)
    assert "Not saved" in text(response)
    assert not RoutingRule.objects.exists()


def test_a_pool_of_nobody_active_is_refused(client, store, shop):
    empty = TeamFactory(store=store, name="Night crew")
    StaffFactory(store=store, team=empty, role=Role.INTERNET_AGENT, is_active=False)
    response = client_for(client, shop["director"]).post(NEW, form_data(store, pool_teams=[empty.pk]))
    assert response.status_code == 422
    assert "The pool has nobody in it" in text(response)
    assert not RoutingRule.objects.exists()


def test_another_stores_staff_cannot_be_put_in_the_pool(client, store, other_store, shop):
    stranger = StaffFactory(store=other_store, role=Role.INTERNET_AGENT)
    response = client_for(client, shop["director"]).post(NEW, form_data(store, pool_staff=[stranger.pk]))
    assert response.status_code == 422
    assert "Select a valid choice" in text(response)
    assert not RoutingRule.objects.exists()


def test_a_second_fallback_is_refused(client, store, shop):
    rule(store, name="Catch-all", team=shop["team"], is_fallback=True)
    response = client_for(client, shop["director"]).post(
        NEW, form_data(store, name="Another", is_fallback="on", pool_teams=[shop["team"].pk]))
    assert response.status_code == 422
    assert "“Catch-all” is already this store's fallback rule." in text(response)
    assert RoutingRule.objects.count() == 1


def test_create_a_valid_rule(client, store, shop):
    client = client_for(client, shop["director"])
    form = client.get(f"{NEW}?store={store.pk}")
    assert form.status_code == 200 and "Who gets them" in text(form)
    response = client.post(NEW, form_data(
        store, condition="used", make=" Honda ", stock_numbers="u1, u2 ,U1", strategy="round_robin_reassign",
        response_minutes=15, max_moves=1, pool_teams=[shop["team"].pk], pool_staff=[shop["ann"].pk],
        open_new_cap=3, after_hours_staff=shop["dan"].pk, manager=shop["manager"].pk,
    ))
    assert response.status_code == 302
    made = RoutingRule.objects.get()
    assert response["Location"] == f"{LIST}?store={store.pk}#rule-{made.pk}"
    assert (made.store, made.condition, made.make, made.stock_numbers) == (store, "used", "Honda", "U1, U2")
    assert list(made.pool_teams.all()) == [shop["team"]] and list(made.pool_staff.all()) == [shop["ann"]]
    assert (made.response_minutes, made.max_moves, made.open_new_cap, made.position) == (15, 1, 3, 1)
    assert made.after_hours_staff == shop["dan"] and made.manager == shop["manager"]
    page = text(client.get(response["Location"]))
    assert "Rule “Used Hondas” saved." in page
    assert ("Used Honda leads asking for stock # U1, U2 → round robin with reassignment (15 min, then Max Manager "
            "after 1 move) among Team Internet and Ann Agent; skip at 3 open new leads; after hours to Dan Agent") in page


def test_edit_a_rule(client, store, shop):
    made = rule(store, name="Used", team=shop["team"], condition="used")
    client = client_for(client, shop["director"])
    url = reverse("distribution_rules:edit", args=[made.pk])
    assert "Edit rule" in text(client.get(url))
    response = client.post(url, form_data(store, name="Used Toyotas", condition="used", make="Toyota",
                                          pool_staff=[shop["bob"].pk, shop["cat"].pk]))
    assert response.status_code == 302
    made.refresh_from_db()
    assert (made.name, made.make) == ("Used Toyotas", "Toyota")
    assert list(made.pool_teams.all()) == [] and set(made.pool_staff.all()) == {shop["bob"], shop["cat"]}
    assert "Used Toyota leads → round robin among Bob Agent and Cat Agent" in text(client.get(LIST))


def test_a_failed_edit_changes_nothing(client, store, shop):
    made = rule(store, name="Used", team=shop["team"], condition="used")
    url = reverse("distribution_rules:edit", args=[made.pk])
    response = client_for(client, shop["director"]).post(url, form_data(store, name="Renamed", condition="new"))
    assert response.status_code == 422 and "The pool is empty" in text(response)
    made.refresh_from_db()
    assert (made.name, made.condition) == ("Used", "used")
    assert list(made.pool_teams.all()) == [shop["team"]]


def test_move_rules_up_and_down(client, store, shop):
    a, b, c = (rule(store, name=n, team=shop["team"], make=n) for n in ("Acura", "Buick", "Chevy"))
    client = client_for(client, shop["director"])

    def order():
        return list(RoutingRule.objects.filter(store=store).order_by("position", "id").values_list("name", flat=True))

    response = client.post(reverse("distribution_rules:move", args=[c.pk]), {"direction": "up"})
    assert response.status_code == 302 and response["Location"].endswith(f"#rule-{c.pk}")
    assert order() == ["Acura", "Chevy", "Buick"]
    client.post(reverse("distribution_rules:move", args=[a.pk]), {"direction": "down"})
    assert order() == ["Chevy", "Acura", "Buick"]
    page = text(client.post(reverse("distribution_rules:move", args=[c.pk]), {"direction": "up"}, follow=True))
    assert "Rule “Chevy” is already first." in page
    assert order() == ["Chevy", "Acura", "Buick"]
    assert page.index("Chevy leads") < page.index("Acura leads") < page.index("Buick leads")
    assert client.post(reverse("distribution_rules:move", args=[b.pk]), {"direction": "sideways"}).status_code == 302
    assert order() == ["Chevy", "Acura", "Buick"]


def test_turn_a_rule_off_and_on(client, store, shop):
    made = rule(store, name="Used", team=shop["team"], condition="used")
    client = client_for(client, shop["director"])
    toggle = reverse("distribution_rules:toggle", args=[made.pk])
    page = text(client.post(toggle, follow=True))
    made.refresh_from_db()
    assert made.enabled is False
    assert "Rule “Used” is off: leads skip it." in page and "Turn on" in page
    # Back on only while its pool still has someone active.
    for person in ("ann", "bob", "cat", "dan"):
        shop[person].is_active = False
        shop[person].save()
    page = text(client.post(toggle, follow=True))
    made.refresh_from_db()
    assert made.enabled is False and "stays off" in page and "The pool has nobody in it" in page
    shop["ann"].is_active = True
    shop["ann"].save()
    client.post(toggle)
    made.refresh_from_db()
    assert made.enabled is True


def test_delete_a_rule(client, store, shop):
    made = rule(store, name="Used", team=shop["team"], condition="used")
    client = client_for(client, shop["director"])
    url = reverse("distribution_rules:delete", args=[made.pk])
    assert client.get(url).status_code == 405
    assert "Rule “Used” deleted." in text(client.post(url, follow=True))
    assert not RoutingRule.objects.exists()


# --- who may do what ----------------------------------------------------------------------------------


def test_a_manager_sees_the_rules_read_only(client, store, shop):
    made = rule(store, name="Used", team=shop["team"], condition="used")
    client = client_for(client, shop["manager"])
    response = client.get(LIST)
    assert response.status_code == 200
    page = text(response)
    assert "Used leads → round robin among Team Internet" in page
    assert "+ New rule" not in page and "Turn off" not in page
    assert reverse("distribution_rules:edit", args=[made.pk]) not in response.content.decode()
    assert client.get(reverse("distribution_rules:edit", args=[made.pk])).status_code == 403
    assert client.get(NEW).status_code == 403
    assert client.post(reverse("distribution_rules:toggle", args=[made.pk])).status_code == 403
    assert client.post(reverse("distribution_rules:move", args=[made.pk]), {"direction": "up"}).status_code == 403
    assert client.post(reverse("distribution_rules:delete", args=[made.pk])).status_code == 403
    made.refresh_from_db()
    assert made.enabled is True


@pytest.mark.parametrize("role", [Role.INTERNET_AGENT, Role.RETAIL, Role.RECEPTIONIST])
def test_salespeople_and_the_receptionist_get_403(client, store, shop, role):
    made = rule(store, name="Used", team=shop["team"], condition="used")
    client = client_for(client, StaffFactory(store=store, role=role))
    assert client.get(LIST).status_code == 403
    assert client.post(PREVIEW, {"store": store.pk}).status_code == 403
    assert client.get(reverse("distribution_rules:edit", args=[made.pk])).status_code == 403


def test_another_stores_rule_is_404(client, store, other_store, shop):
    theirs = rule(other_store, name="Theirs", staff=[StaffFactory(store=other_store)])
    client = client_for(client, shop["director"])
    for name in ("edit", "toggle", "move", "delete"):
        url = reverse(f"distribution_rules:{name}", args=[theirs.pk])
        response = client.post(url, {"direction": "up"}) if name != "edit" else client.get(url)
        assert response.status_code == 404, name
    assert client.get(f"{LIST}?store={other_store.pk}").status_code == 404
    assert client.get(f"{LIST}?store=abc").status_code == 404
    assert RoutingRule.objects.get(pk=theirs.pk).enabled is True


def test_a_group_admin_picks_the_store(client, store, other_store, shop):
    sister = StoreFactory(group=store.group, name="West Motors")
    rule(sister, name="West used", staff=[StaffFactory(store=sister)], condition="used")
    rule(store, name="North new", team=shop["team"], condition="new")
    admin = StaffFactory(store=store, role=Role.ADMIN)
    client = client_for(client, admin)
    own = text(client.get(LIST))
    assert "New leads →" in own and "Used leads →" not in own
    response = client.get(f"{LIST}?store={sister.pk}")
    page = text(response)
    assert "West Motors" in page and "Used leads →" in page and "New leads →" not in page
    assert "+ New rule" in page
    assert client.get(f"{LIST}?store={other_store.pk}").status_code == 404
    # A rule created for the sister store lands there.
    response = client.post(NEW, form_data(sister, name="West new", condition="new",
                                          pool_staff=[StaffFactory(store=sister).pk]))
    assert response.status_code == 302
    assert RoutingRule.objects.get(name="West new").store == sister


# --- the preview ---------------------------------------------------------------------------------------


def _preview_floor(store, shop):
    shop["bob"].shifts.update(starts=dt.time(12))  # Bob starts at noon
    LeadFactory(store=store, owner=shop["cat"], status=LeadStatus.NEW)  # Cat holds one open new lead
    rule(store, name="New cars", team=shop["team"], condition="new", position=1)
    return rule(store, name="Used", team=shop["team"], condition="used", open_new_cap=1, position=2)


def test_preview_shows_who_would_get_it_who_was_skipped_and_who_is_next(client, store, shop):
    _preview_floor(store, shop)
    client = client_for(client, shop["director"])
    response = client.post(PREVIEW, {"store": store.pk, "condition": "used", "make": "Honda",
                                     "at": "2026-11-23T10:00"})
    assert response.status_code == 200
    page = text(response)
    assert ("This sample lead would go to Ann Agent because rule “Used” matched (condition is used); "
            "round robin.") in page
    assert "Skipped: Bob Agent (off shift), Cat Agent (at cap: 1 open new lead)" in page
    assert re.search(r"Next 5 in line .*? Ann Agent Dan Agent Ann Agent Dan Agent Ann Agent", page)
    assert "As of Mon Nov 23, 10:00 AM, America/Chicago time." in page
    assert "Next in line: Ann Agent." not in page  # the headline says it already
    # The plain form post answers the whole page; the preview wrote nothing.
    assert "Routing rules" in page and "Used leads → round robin among Team Internet" in page
    assert not RotationSlot.objects.exists() and not LeadRouting.objects.exists()


def test_preview_through_htmx_answers_only_the_preview_card(client, store, shop):
    _preview_floor(store, shop)
    client = client_for(client, shop["manager"])  # a manager may preview too
    response = client.post(PREVIEW, {"store": store.pk, "condition": "new", "at": "2026-11-23T13:00"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card preview-card" id="preview"') and "<html" not in body
    page = text(response)
    assert "This sample lead would go to Ann Agent because rule “New cars” matched (condition is new)" in page
    assert "Skipped" not in page  # at 1 pm Bob is on shift and this rule has no cap


def test_preview_when_no_rule_matches(client, store, shop):
    _preview_floor(store, shop)
    response = client_for(client, shop["director"]).post(PREVIEW, {"store": store.pk, "make": "Honda"})
    assert response.status_code == 200
    page = text(response)
    assert "No rule matched this sample lead." in page
    assert "No routing rule matched and the store has no fallback rule." in page
    assert "It would wait on the manager queue, with a warning." in page


def test_preview_after_hours_says_it_waits(client, store, shop):
    _preview_floor(store, shop)
    page = text(client_for(client, shop["director"]).post(
        PREVIEW, {"store": store.pk, "condition": "used", "at": "2026-11-22T10:00"}))  # a Sunday
    assert "This sample lead would wait until Mon Nov 23, 9:00 AM because rule “Used” matched" in page
    assert "Ann Agent (day off)" in page


def test_preview_with_a_bad_date_is_a_form_error(client, store, shop):
    _preview_floor(store, shop)
    client = client_for(client, shop["director"])
    response = client.post(PREVIEW, {"store": store.pk, "condition": "used", "at": "2026-13-45T25:99"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    page = text(response)
    assert "Enter a valid date/time." in page and "would go to" not in page
    response = client.post(PREVIEW, {"store": store.pk, "condition": "sideways"})
    assert response.status_code == 422 and "Select a valid choice" in text(response)


def test_preview_at_a_time_the_clock_skips_is_a_form_error(client, store, shop):
    _preview_floor(store, shop)
    response = client_for(client, shop["director"]).post(
        PREVIEW, {"store": store.pk, "condition": "used", "at": "2026-03-08T02:30"})  # DST: 2:30 never happens
    assert response.status_code == 422
    assert "couldn’t be interpreted in time zone America/Chicago" in text(response)


def test_preview_names_the_after_hours_person(client, store, shop):
    rule(store, name="Used", team=shop["team"], condition="used", after_hours_staff=shop["manager"])
    page = text(client_for(client, shop["director"]).post(
        PREVIEW, {"store": store.pk, "condition": "used", "at": "2026-11-23T20:00"}))
    assert "This sample lead would go to Max Manager because rule “Used” matched" in page
    assert "Nobody in the pool can take it now; the rule's after-hours person, Max Manager, gets it." in page
    assert "Ann Agent (off shift)" in page


def test_zero_minutes_or_a_zero_cap_is_refused(client, store, shop):
    response = client_for(client, shop["director"]).post(NEW, form_data(
        store, strategy="round_robin_reassign", response_minutes=0, open_new_cap=0, pool_teams=[shop["team"].pk]))
    assert response.status_code == 422
    assert text(response).count("Ensure this value is greater than or equal to 1.") == 2
    assert not RoutingRule.objects.exists()


def test_new_fallback_rule_form_is_prefilled_from_the_warning_link(client, store, shop):
    client = client_for(client, shop["director"])
    body = client.get(f"{NEW}?store={store.pk}&fallback=1").content.decode()
    assert re.search(r'<input type="checkbox" name="is_fallback"[^>]* checked>', body)
    assert 'value="Everything else"' in body
    rule(store, name="Catch-all", team=shop["team"], is_fallback=True)
    body = client.get(f"{NEW}?store={store.pk}&fallback=1").content.decode()
    assert re.search(r'<input type="checkbox" name="is_fallback"[^>]*>', body)
    assert not re.search(r'<input type="checkbox" name="is_fallback"[^>]* checked>', body)
