"""What-if replay: past deals judged again under a proposal, beside their credit as it stands."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from factories import ContactEventFactory, LeadFactory, StaffFactory
from rest_framework.test import APIClient

from dealcoverage import selectors, services
from dealcoverage.models import CoveragePolicy
from dealcoverage.presets import preset
from dealcoverage.replay import replay
from leads.models import EvidenceLevel
from org.models import Role

pytestmark = [pytest.mark.clock, pytest.mark.django_db]
PAGE = "/coverage/replay/"


def install(store, name: str, role: str, effective_from: dt.datetime):
    params = preset(name).to_dict()
    return services.policy_version_create(
        store=store, role=role, effective_from=effective_from, created_by=None,
        **{k: params[k] for k in services.POLICY_FIELDS},
    )


def call(lead, staff, when, *, connected: bool):
    return ContactEventFactory(
        lead=lead, staff=staff, channel="call", direction="outbound",
        outcome="connected" if connected else "no_answer", talk_seconds=372 if connected else 0,
        answered_by_person=True if connected else None, evidence_level=EvidenceLevel.VERIFIED, occurred_at=when,
        call_sid=f"CA{lead.pk:032d}"[:34] if connected else "",
    )


@pytest.fixture
def world(store, org):
    """Policies internet-old-7d and retail-3d; a second team (agent2, retail2) under manager2.
    Deal 1 is seed 000's story: the agent's last two-way contact 9 days before the sale, attempts
    after it; retail2 closes. Deal 2: agent2 talked to the customer the day before. Deal 3: nobody."""
    now = timezone.now()
    install(store, "internet-old-7d", Role.INTERNET_AGENT, now - dt.timedelta(days=200))
    install(store, "retail-3d", Role.RETAIL, now - dt.timedelta(days=200))
    manager2 = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="manager2")
    team_b = org["agent2"].team
    team_b.manager = manager2
    team_b.save()
    retail2 = StaffFactory(store=store, role=Role.RETAIL, team=team_b, user__username="retail2")
    org.update(manager2=manager2, retail2=retail2)

    base = now - dt.timedelta(days=20)
    lead1 = LeadFactory(store=store, owner=org["agent"])
    call(lead1, org["agent"], base - dt.timedelta(days=9), connected=True)
    call(lead1, org["agent"], base - dt.timedelta(days=5), connected=False)
    call(lead1, org["agent"], base - dt.timedelta(days=2), connected=False)
    lead2 = LeadFactory(store=store, owner=org["agent2"])
    call(lead2, org["agent2"], base - dt.timedelta(days=1), connected=True)
    lead3 = LeadFactory(store=store)
    deals = [
        services.deal_record(store=store, customer=lead.customer, lead=lead, closer=retail2,
                             sold_at=base + dt.timedelta(hours=i), source="api")
        for i, lead in enumerate([lead1, lead2, lead3])
    ]
    return {"deals": deals, "start": base - dt.timedelta(days=1), "end": base + dt.timedelta(days=1), **org}


def more_deals(store, org, n: int, when: dt.datetime):
    for i in range(n):
        lead = LeadFactory(store=store, owner=org["agent2"])
        call(lead, org["agent2"], when - dt.timedelta(days=1), connected=True)
        services.deal_record(store=store, customer=lead.customer, lead=lead, closer=org["retail2"],
                             sold_at=when + dt.timedelta(minutes=i), source="api")


def test_frozen_credit_is_as_the_old_policy_decided(world):
    shares = {c.staff_id: c.share for c in world["deals"][0].credits.all()}
    assert shares == {world["agent"].pk: Decimal("0.5"), world["retail2"].pk: Decimal("0.5")}


def test_replay_under_the_new_rule_moves_the_agents_half_to_the_closer(store, world):
    result = replay(store=store, proposed={Role.INTERNET_AGENT: preset("internet-new-7d")},
                    start=world["start"], end=world["end"])
    assert len(result.deals) == 3 and not result.empty
    assert [d.deal_id for d in result.changed] == [world["deals"][0].pk]
    changed = result.changed[0]
    assert changed.now == {world["agent"].pk: Decimal("0.5"), world["retail2"].pk: Decimal("0.5")}
    assert changed.proposed == {world["retail2"].pk: Decimal("1")}
    agent_detail = next(text for name, _covered, text in changed.details if "coverage ended" in text)
    assert "attempts do not extend coverage" in agent_detail
    people = {row.key: row for row in result.people}
    assert people[world["agent"].pk].now == Decimal("0.5") and people[world["agent"].pk].proposed == 0
    assert people[world["agent"].pk].difference == Decimal("-0.5")
    assert people[world["retail2"].pk].now == Decimal("2.0")
    assert people[world["retail2"].pk].difference == Decimal("0.5")
    assert people[world["agent2"].pk].difference == 0
    teams = {row.key: row for row in result.teams}
    assert (teams[world["manager"].pk].now, teams[world["manager"].pk].proposed) == (Decimal("0.5"), 0)
    assert (teams[world["manager2"].pk].now, teams[world["manager2"].pk].proposed) == (Decimal("2.5"), Decimal("3.0"))
    assert sum(r.now for r in result.people) == sum(r.proposed for r in result.people) == 3


def test_replay_under_the_same_rule_changes_nothing(store, world):
    result = replay(store=store, proposed={Role.INTERNET_AGENT: preset("internet-old-7d")},
                    start=world["start"], end=world["end"])
    assert result.changed == [] and all(row.difference == 0 for row in result.people)


def test_replay_uses_active_credits_overrides_included(store, world):
    deal = world["deals"][2]
    services.credit_override(deal=deal, shares={world["agent"].pk: Decimal("1")}, reason="set the appointment",
                             by=world["manager"])
    result = replay(store=store, proposed={Role.INTERNET_AGENT: preset("internet-old-7d")},
                    start=world["start"], end=world["end"])
    assert [d.deal_id for d in result.changed] == [deal.pk]
    assert {row.key: row.now for row in result.people}[world["agent"].pk] == Decimal("1.5")


def test_an_empty_range_says_so(store, world):
    start = world["start"] - dt.timedelta(days=100)
    result = replay(store=store, proposed={Role.INTERNET_AGENT: preset("internet-new-7d")},
                    start=start, end=start + dt.timedelta(days=5))
    assert result.empty and result.people == [] and result.changed == []
    assert result.message.startswith("No deals sold from")


def proposal_fields(source: str, role: str = "internet_agent", **changes) -> dict:
    """The form's fields for one role, as a browser sends them after loading `source`
    ("preset:internet-72h" or "version:<pk>") and editing `changes`."""
    if source.startswith("preset:"):
        params = preset(source.split(":", 1)[1]).to_dict()
    else:
        params = selectors.to_engine_policy(CoveragePolicy.objects.get(pk=int(source.split(":", 1)[1]))).to_dict()
    params.update(changes)
    fields = {f"{role}-source": source, f"{role}-loaded": source}
    for name in ("initial_two_way_required", "keeps_alive", "window_hours", "min_evidence",
                 "share_when_other_closes", "pause_on_days_off"):
        value = params[name]
        if isinstance(value, bool):
            if value:
                fields[f"{role}-{name}"] = "on"
        else:
            fields[f"{role}-{name}"] = str(value)
    return fields


def _query(world, source: str = "preset:internet-new-7d", changes: dict | None = None, **extra):
    zone = world["deals"][0].store.time_zone
    start = world["start"].astimezone(zoneinfo.ZoneInfo(zone)).date()
    end = world["end"].astimezone(zoneinfo.ZoneInfo(zone)).date()
    return {"store": world["deals"][0].store_id, "start": start.isoformat(), "end": end.isoformat(),
            **proposal_fields(source, **(changes or {})), **extra}


def test_page_shows_tables_chart_and_links_the_changed_deal(client, world):
    client.force_login(world["director"].user)
    response = client.get(PAGE, _query(world))
    assert response.status_code == 200
    body = response.content.decode()
    assert "3 deals replayed; 1 would change." in body
    assert f'href="/coverage/deals/{world["deals"][0].pk}/"' in body
    assert 'id="replay-chart"' in body and 'id="replay-teams"' in body


def test_page_with_edited_parameters(client, world):
    client.force_login(world["director"].user)
    # The old rule with a 24-hour window: the agent's last attempt (2 days before) and agent2's
    # call (25 hours before) both fall out of coverage.
    response = client.get(PAGE, _query(world, "preset:internet-old-7d", {"window_hours": 24}))
    assert response.status_code == 200
    body = response.content.decode()
    assert "3 deals replayed; 2 would change." in body
    assert "internet-old-7d + 24 h" in body  # named for what it is, not the preset's bare name
    bad = client.get(PAGE, _query(world, changes={"window_hours": 0}))
    assert bad.status_code == 400 and "Window (hours) must be from 1 to" in bad.content.decode()


def test_page_empty_range_says_so(client, world):
    client.force_login(world["director"].user)
    response = client.get(PAGE, _query(world, start="2001-01-01", end="2001-01-31"))
    assert response.status_code == 200
    assert "No deals sold from Mon Jan 1, 2001 to Wed Jan 31, 2001." in response.content.decode()


def test_csv_export_has_a_header_and_one_row_per_person(client, world):
    client.force_login(world["manager"].user)
    response = client.get(PAGE, _query(world, format="csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["staff_id", "name", "team", "deals", "credit_now", "credit_proposed", "difference"]
    by_id = {int(r[0]): r for r in rows[1:]}
    assert set(by_id) == {world["agent"].pk, world["agent2"].pk, world["retail2"].pk}
    assert by_id[world["agent"].pk][4:] == ["0.5", "0", "-0.5"]


def test_json_format_and_post_api(client, world):
    client.force_login(world["director"].user)
    data = client.get(PAGE, _query(world, format="json")).json()
    assert data["deal_count"] == 3 and [d["deal"] for d in data["changed"]] == [world["deals"][0].pk]
    api = APIClient()
    api.force_authenticate(world["director"].user)
    response = api.post(PAGE + "api/", {
        "store": world["deals"][0].store_id, "start": world["start"].isoformat(), "end": world["end"].isoformat(),
        "policies": {"internet_agent": "internet-new-7d"},
    }, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["changed"][0]["proposed"] == {str(world["retail2"].pk): "1"}
    bad = api.post(PAGE + "api/", {"store": world["deals"][0].store_id, "start": world["start"].isoformat(),
                                   "end": world["end"].isoformat(), "policies": {"internet_agent": "nope"}},
                   format="json")
    assert bad.status_code == 400 and "policies" in bad.json()


def test_salespeople_may_not_replay_and_other_stores_are_out_of_scope(client, world, other_store):
    client.force_login(world["agent"].user)
    assert client.get(PAGE).status_code == 403
    client.force_login(world["director"].user)
    response = client.get(PAGE, _query(world, store=other_store.pk))
    assert response.status_code == 400  # not a choice for this director
    client.logout()
    assert client.get(PAGE).status_code == 302


def test_query_count_does_not_grow_with_the_number_of_deals(store, world, django_assert_max_num_queries):
    proposal = {Role.INTERNET_AGENT: preset("internet-new-7d")}
    with CaptureQueriesContext(connection) as three:
        replay(store=store, proposed=proposal, start=world["start"], end=world["end"])
    more_deals(store, world, 7, world["start"] + dt.timedelta(hours=2))
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as ten:
        result = replay(store=store, proposed=proposal, start=world["start"], end=world["end"])
    assert len(result.deals) == 10
    assert len(ten) == len(three)


def test_page_query_count_is_bounded(client, world, store, django_assert_max_num_queries):
    client.force_login(world["director"].user)
    client.get(PAGE, _query(world))
    with CaptureQueriesContext(connection) as three:
        client.get(PAGE, _query(world))
    more_deals(store, world, 7, world["start"] + dt.timedelta(hours=2))
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as ten:
        assert "10 deals replayed" in client.get(PAGE, _query(world)).content.decode()
    assert len(ten) == len(three)


def test_replay_names_people_counts_team_deals_and_flags_overrides(store, world):
    """The explanation names the winner (not 'Staff 13'), team rows count their deals, and a
    changed deal whose 'now' is a manager's override says so."""
    deal = world["deals"][2]
    services.credit_override(deal=deal, shares={world["agent"].pk: Decimal("1")}, reason="set the appointment",
                             by=world["manager"])
    result = replay(store=store, proposed={Role.INTERNET_AGENT: preset("internet-old-7d")},
                    start=world["start"], end=world["end"])
    replayed = {d.deal_id: d for d in result.deals}
    assert replayed[deal.pk].overridden is True and replayed[deal.pk].to_dict()["overridden"] is True
    assert not any(d.overridden for pk, d in replayed.items() if pk != deal.pk)
    winner_deal = replayed[world["deals"][1].pk]  # agent2 shares it
    assert world["agent2"].display_name in winner_deal.explanation and "Staff " not in winner_deal.explanation
    assert sum(row.deals for row in result.teams) >= len(result.deals)
    assert all(row.deals > 0 for row in result.teams if row.now or row.proposed)


# -- issue 13: the proposal as a form, its name, everyone in the chart, the per-deal CSV ---------


def test_form_starts_from_the_store_version_in_force(client, world):
    client.force_login(world["director"].user)
    current = CoveragePolicy.objects.get(store=world["deals"][0].store, role=Role.INTERNET_AGENT)
    body = client.get(PAGE).content.decode()
    assert f'<option value="version:{current.pk}" selected>' in body
    assert "internet-old-7d v1, in force" in body and "This store&#x27;s saved versions" in body
    assert 'name="internet_agent-window_hours" value="168"' in body  # its parameters, loaded


def test_picking_another_start_loads_its_parameters_and_computes_nothing(client, world):
    client.force_login(world["director"].user)
    query = _query(world, "preset:internet-old-7d")
    query["internet_agent-source"] = "preset:internet-72h"  # changed, not loaded yet
    response = client.get(PAGE, query)
    body = response.content.decode()
    assert response.status_code == 200 and 'id="replay-summary"' not in body
    assert "Loaded the parameters for Internet agent" in body
    assert 'name="internet_agent-window_hours" value="72"' in body
    assert 'name="internet_agent-loaded" value="preset:internet-72h"' in body


def test_a_saved_version_as_the_start_and_a_days_off_pause_is_named_for_it(client, world):
    client.force_login(world["director"].user)
    current = CoveragePolicy.objects.get(store=world["deals"][0].store, role=Role.INTERNET_AGENT)
    response = client.get(PAGE, _query(world, f"version:{current.pk}", {"pause_on_days_off": True}))
    body = response.content.decode()
    assert response.status_code == 200
    assert "proposed “internet-old-7d v1 + days-off pause”" in body
    assert "proposed “internet-old-7d”" not in body


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"window_hours": 0}, "window_hours", "Window (hours) must be from 1 to"),
    ({"window_hours": "seven"}, "window_hours", "Window (hours): give a whole number of hours."),
    ({"share_when_other_closes": "1.5"}, "share_when_other_closes", "Share when another closes must be from 0 to 1"),
    ({"share_when_other_closes": "-0.1"}, "share_when_other_closes", "Share when another closes must be from 0 to 1"),
    ({"keeps_alive": "sometimes"}, "keeps_alive", "Select a valid choice"),
    ({"window_hours": ""}, "window_hours", "Window (hours) is required."),
])
def test_bad_parameters_are_form_errors_naming_the_field(client, world, changes, field, words):
    client.force_login(world["director"].user)
    response = client.get(PAGE, _query(world, changes=changes))
    body = response.content.decode()
    assert response.status_code == 400
    assert words in body and 'id="replay-summary"' not in body
    assert f'has-error">\n  <label for="id_internet_agent-{field}"' in body
    csv_response = client.get(PAGE, _query(world, changes=changes, format="deals_csv"))
    assert csv_response.status_code == 400 and f"internet_agent-{field}" in csv_response.json()["errors"]


def test_the_api_checks_parameters_by_the_same_rule_and_names_the_proposal(world):
    api = APIClient()
    api.force_authenticate(world["director"].user)
    body = {"store": world["deals"][0].store_id, "start": world["start"].isoformat(), "end": world["end"].isoformat()}
    bad = api.post(PAGE + "api/", {**body, "policies": {"internet_agent": {"preset": "internet-72h", "window_hours": 0,
                                                                           "share_when_other_closes": 2}}},
                   format="json")
    assert bad.status_code == 400
    errors = bad.json()["policies"]["internet_agent"]
    assert errors["window_hours"][0].startswith("Window (hours) must be from 1 to")
    assert errors["share_when_other_closes"][0].startswith("Share when another closes must be from 0 to 1")
    good = api.post(PAGE + "api/", {**body, "policies": {"internet_agent": {"preset": "internet-72h",
                                                                            "pause_on_days_off": True}}},
                    format="json")
    assert good.status_code == 200, good.content
    assert good.json()["proposed"]["internet_agent"]["name"] == "internet-72h + days-off pause"


def test_chart_shows_everyone_whose_credit_changes_however_many(store, world):
    from dealcoverage.replay import ReplayResult, Row
    from dealcoverage.views_replay import _chart

    rows = [Row(key=i, name=f"Person {i:02d}", now=Decimal(i % 3), proposed=Decimal(i % 3) + (1 if i % 2 else -1))
            for i in range(23)]
    rows.append(Row(key=99, name="Unchanged", now=Decimal(2), proposed=Decimal(2)))
    result = ReplayResult(store=store, start=world["start"], end=world["end"], proposed={}, people=rows)
    chart = _chart(result)
    assert len(chart["bars"]) == 23 and chart["unchanged"] == 1
    assert "Unchanged" not in {bar["name"] for bar in chart["bars"]}


def test_per_deal_csv_has_a_row_per_deal_with_both_splits_and_each_persons_share(client, world):
    client.force_login(world["director"].user)
    response = client.get(PAGE, _query(world, format="deals_csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [int(r["deal_id"]) for r in rows] == [d.pk for d in world["deals"]]
    first = rows[0]
    agent, retail2 = world["agent"], world["retail2"]
    assert first["closer"] == retail2.display_name and first["changed"] == "yes"
    assert set(first["split_now"].split("; ")) == {f"{agent.display_name} 50 %", f"{retail2.display_name} 50 %"}
    assert first["split_proposed"] == f"{retail2.display_name} 100 %"
    assert first[f"now: {agent.display_name} (#{agent.pk})"] == "0.5"
    assert first[f"proposed: {agent.display_name} (#{agent.pk})"] == "0"
    assert first[f"proposed: {retail2.display_name} (#{retail2.pk})"] == "1"
    zone = zoneinfo.ZoneInfo(world["deals"][0].store.time_zone)
    assert first["sold_at"] == world["deals"][0].sold_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    assert rows[2]["changed"] == "no"
