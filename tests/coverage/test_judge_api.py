"""The stateless judge endpoint: the seeds' stories through the API give the engine's decision
and explanation, store nothing, and bad input is a 400 naming the field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps

from dealcoverage.engine import Event
from tests.coverage.test_engine import _nine_day_story, at, call_connected, call_unanswered, ev, text

pytestmark = pytest.mark.django_db
JUDGE = "/api/v1/coverage/judge/"


def rows(events: list[Event], staff: str) -> list[dict]:
    return [
        {
            "staff": staff, "channel": e.channel, "direction": e.direction, "outcome": e.outcome,
            "talk_seconds": e.talk_seconds, "answered_by_person": e.answered_by_person,
            "evidence_level": e.evidence_level, "evidence_ref": e.evidence_ref,
            "occurred_at": e.occurred_at.isoformat(),
        }
        for e in events
    ]


def judge(client, *, policy, events, sold_at: dt.datetime, days_off=()):
    return client.post(JUDGE, {
        "policy": policy,
        "time_zone": "America/Chicago",
        "staff": [
            {"id": "agent", "role": "internet_agent", "days_off": list(days_off)},
            {"id": "retail", "role": "retail"},
        ],
        "events": rows(events, "agent"),
        "sale": {"closer": "retail", "sold_at": sold_at.isoformat()},
    }, format="json")


@pytest.fixture
def client(api_for, org):
    return api_for(org["manager"])


def row_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.app_label in {"leads", "coverage", "telephony"}}


@pytest.mark.parametrize(("preset", "agent_share", "covered"), [("internet-old-7d", "0.5", True), ("internet-new-7d", None, False)])
def test_seed_000_nine_day_story_through_the_judge(client, preset, agent_share, covered):
    events, sale = _nine_day_story()
    before = row_counts()
    response = judge(client, policy=preset, events=events, sold_at=sale)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["decisions"]["agent"]["covered"] is covered
    shares = {s["staff_id"]: s["share"] for s in body["shares"]}
    assert sum(float(v) for v in shares.values()) == 1.0
    assert shares.get("agent") == agent_share
    if not covered:
        assert "attempts do not extend coverage" in body["decisions"]["agent"]["explanation"]
    assert row_counts() == before  # the judge stores nothing


def test_seed_001_thursday_story_explanation_matches_the_engine(client):
    events = [
        call_connected(at(2025, 10, 2, 10, 12), talk=372, ref="CA9f2e"),
        call_unanswered(at(2025, 10, 3, 11)),
        ev(at(2025, 10, 4, 11), "call", "voicemail", talk=25, person=False),
        text(at(2025, 10, 5, 9)),
    ]
    sunday = judge(client, policy={"preset": "internet-72h", "version": 3}, events=events, sold_at=at(2025, 10, 5, 10, 12))
    assert sunday.json()["decisions"]["agent"]["explanation"].startswith(
        "Covered until Sun Oct 5, 10:12 AM: last two-way contact Thu Oct 2, 10:12 AM, a recorded call of 6 min 12 s."
    )
    monday = judge(client, policy="internet-72h", events=events, sold_at=at(2025, 10, 6, 14), days_off=[0])
    assert monday.json()["decisions"]["agent"]["covered"] is False


def test_policy_given_as_parameters(client):
    events = [call_connected(at(2025, 10, 2, 10, 12))]
    params = {
        "name": "proposal", "initial_two_way_required": True, "keeps_alive": "two_way", "window_hours": 24,
        "min_evidence": "verified", "share_when_other_closes": "0.3",
    }
    inside = judge(client, policy=params, events=events, sold_at=at(2025, 10, 3, 10, 12)).json()
    outside = judge(client, policy=params, events=events, sold_at=at(2025, 10, 3, 10, 12, 1)).json()
    assert {s["staff_id"]: s["share"] for s in inside["shares"]} == {"agent": "0.3", "retail": "0.7"}
    assert outside["decisions"]["agent"]["covered"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(policy="no-such-preset"), "policy"),
        (lambda b: b.pop("policy"), "policy"),
        (lambda b: b.update(time_zone="Mars/Olympus"), "time_zone"),
        (lambda b: b["sale"].update(closer="nobody"), "sale"),
        (lambda b: b["events"].append({**b["events"][0], "staff": "ghost"}), "events"),
        (lambda b: b["events"][0].update(outcome="teleported"), "events"),
        (lambda b: b.update(policy={"keeps_alive": "two_way"}), "policy"),
    ],
)
def test_bad_input_is_400_naming_the_field(client, change, field):
    body = {
        "policy": "internet-72h", "time_zone": "America/Chicago",
        "staff": [{"id": "agent", "role": "internet_agent"}, {"id": "retail", "role": "retail"}],
        "events": rows([call_connected(at(2025, 10, 2, 10, 12))], "agent"),
        "sale": {"closer": "retail", "sold_at": at(2025, 10, 3).isoformat()},
    }
    change(body)
    response = client.post(JUDGE, body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_the_judge_needs_a_login(client):
    from rest_framework.test import APIClient

    assert APIClient().post(JUDGE, {}, format="json").status_code == 401


def test_seed_000_retail_left_message_notes_cover_the_retail_salesperson_for_3_days(client):
    """Seed 000: retail is covered 3 days by DMS notes like "left message", no proof needed."""
    note = ev(at(2025, 10, 1, 9), "note", "note", direction="", staff="retail", evidence="self_reported")
    body = {
        "policies": {"retail": "retail-3d", "internet_agent": "internet-72h"},
        "time_zone": "America/Chicago",
        "staff": [{"id": "agent", "role": "internet_agent"}, {"id": "retail", "role": "retail"}],
        "events": rows([note], "retail"),
    }
    inside = client.post(JUDGE, {**body, "sale": {"closer": "agent", "sold_at": at(2025, 10, 4, 9).isoformat()}}, format="json")
    later = client.post(JUDGE, {**body, "sale": {"closer": "agent", "sold_at": at(2025, 10, 4, 9, 0, 1).isoformat()}}, format="json")
    assert {s["staff_id"]: s["share"] for s in inside.json()["shares"]} == {"retail": "0.5", "agent": "0.5"}
    assert later.json()["decisions"]["retail"]["covered"] is False


def test_seed_001_nine_day_story_is_not_covered_under_5_days_either(client):
    events, sale = _nine_day_story()
    response = judge(client, policy="internet-5d", events=events, sold_at=sale)
    assert response.json()["decisions"]["agent"]["covered"] is False


# --- Issue 14: each bad value is a 400 naming its field, never a 500 or a silent misreading ---------


def judge_body(**changes) -> dict:
    body = {
        "policy": "internet-72h", "time_zone": "America/Chicago",
        "staff": [{"id": "agent", "role": "internet_agent"}, {"id": "retail", "role": "retail"}],
        "events": rows([call_connected(at(2025, 10, 2, 10, 12))], "agent"),
        "sale": {"closer": "retail", "sold_at": at(2025, 10, 3).isoformat()},
    }
    return {**body, **changes}


PARAMS = {
    "initial_two_way_required": True, "keeps_alive": "two_way", "window_hours": 24, "min_evidence": "verified",
}


def test_every_weekday_off_is_a_400_naming_days_off(client):
    body = judge_body()
    body["staff"][0]["days_off"] = [0, 1, 2, 3, 4, 5, 6]
    response = client.post(JUDGE, body, format="json")
    assert response.status_code == 400, response.content
    assert "days_off" in str(response.json()["staff"]), response.json()


@pytest.mark.parametrize(
    "policy",
    [
        {**PARAMS, "window_hours": 1e9},
        {**PARAMS, "window_hours": 8761},
        {**PARAMS, "window_hours": 0},
        {**PARAMS, "window_hours": "abc"},
        {"preset": "internet-72h", "window_hours": 10**9},
    ],
)
def test_window_hours_out_of_bounds_is_a_400_naming_window_hours(client, policy):
    response = client.post(JUDGE, judge_body(policy=policy), format="json")
    assert response.status_code == 400, response.content
    assert "window_hours" in response.json()["policy"]


def test_a_window_of_a_year_is_accepted(client):
    response = client.post(JUDGE, judge_body(policy={**PARAMS, "window_hours": 8760}), format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("share", ["abc", "1.5", "-0.1", None])
def test_a_share_that_is_not_a_number_from_0_to_1_is_a_400(client, share):
    response = client.post(JUDGE, judge_body(policy={**PARAMS, "share_when_other_closes": share}), format="json")
    assert response.status_code == 400, response.content
    assert "share_when_other_closes" in response.json()["policy"]


PAUSE_STORY = {  # two-way Thu 10:12, 72 h: until Sun 10:12, or Mon 10:12 if the Saturday off pauses it
    "events": rows([call_connected(at(2025, 10, 2, 10, 12))], "agent"),
    "sale": {"closer": "retail", "sold_at": at(2025, 10, 6, 9).isoformat()},
}


def monday(client, pause):
    body = judge_body(**PAUSE_STORY, policy={"preset": "internet-72h", "pause_on_days_off": pause})
    body["staff"][0]["days_off"] = [5]
    return client.post(JUDGE, body, format="json")


@pytest.mark.parametrize("pause", ["false", "no", "0", False, 0])
def test_false_strings_are_false_for_a_boolean_parameter(client, pause):
    response = monday(client, pause)
    assert response.status_code == 200, response.content
    assert response.json()["decisions"]["agent"]["covered"] is False


@pytest.mark.parametrize("pause", ["true", "yes", "1", True])
def test_true_strings_are_true_for_a_boolean_parameter(client, pause):
    assert monday(client, pause).json()["decisions"]["agent"]["covered"] is True


@pytest.mark.parametrize("pause", ["maybe", "", [], 2])
def test_a_boolean_parameter_that_is_not_a_boolean_is_a_400(client, pause):
    response = monday(client, pause)
    assert response.status_code == 400, response.content
    assert "pause_on_days_off" in response.json()["policy"]


def test_false_string_for_initial_two_way_required_in_parameters(client):
    """An unanswered call alone covers only when no two-way contact is required first."""
    policy = {**PARAMS, "keeps_alive": "any_attempt", "initial_two_way_required": "false"}
    events = rows([call_unanswered(at(2025, 10, 2, 10, 12))], "agent")
    response = client.post(JUDGE, judge_body(policy=policy, events=events), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["decisions"]["agent"]["covered"] is True
    required = {**policy, "initial_two_way_required": "true"}
    assert client.post(JUDGE, judge_body(policy=required, events=events), format="json").json()[
        "decisions"]["agent"]["covered"] is False


def test_a_time_without_a_zone_is_read_in_the_request_time_zone(client):
    """Tokyo is 14 hours ahead of the server's Chicago: a naive sale time is Tokyo's wall clock."""
    event = rows([call_connected(at(2025, 10, 2, 10, 12))], "agent")[0]
    event["occurred_at"] = "2025-10-02T10:12:00+09:00"
    base = judge_body(policy={**PARAMS}, time_zone="Asia/Tokyo", events=[event])
    inside = client.post(JUDGE, {**base, "sale": {"closer": "retail", "sold_at": "2025-10-03T10:12:00"}}, format="json")
    after = client.post(JUDGE, {**base, "sale": {"closer": "retail", "sold_at": "2025-10-03T10:12:01"}}, format="json")
    assert inside.status_code == 200, inside.content
    assert inside.json()["decisions"]["agent"]["covered"] is True
    assert after.json()["decisions"]["agent"]["covered"] is False
    # and a naive event time too: 24 h from Tokyo's 10:12 is Tokyo's 10:12 the next day
    event["occurred_at"] = "2025-10-02T10:12:00"
    naive = client.post(JUDGE, {**base, "events": [event], "sale": {"closer": "retail", "sold_at": "2025-10-03T01:12:00Z"}}, format="json")
    assert naive.json()["decisions"]["agent"]["covered"] is True


def test_a_duplicated_staff_id_is_a_400_naming_the_id(client):
    body = judge_body()
    body["staff"].append({"id": "agent", "role": "retail"})
    response = client.post(JUDGE, body, format="json")
    assert response.status_code == 400, response.content
    assert "agent" in str(response.json()["staff"])
