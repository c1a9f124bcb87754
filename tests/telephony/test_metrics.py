"""Dashboard primitives against a hand-computed fixture.

Store zone America/Chicago (CDT, UTC-5 in March 2026). Agent A works leads L1-L5, agent B
L6-L7. Expected figures are worked out by hand in the comments of `fixture`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from factories import ContactEventFactory, LeadFactory, StaffFactory, StoreFactory

from leads.models import EvidenceLevel
from telephony import metrics

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

CHICAGO = ZoneInfo("America/Chicago")
D0, D1, D2 = dt.date(2026, 3, 9), dt.date(2026, 3, 10), dt.date(2026, 3, 11)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=CHICAGO)


def event(lead, staff, when, channel, direction, outcome, evidence=EvidenceLevel.VERIFIED, **kw):
    return ContactEventFactory(
        lead=lead, staff=staff, occurred_at=when, channel=channel, direction=direction, outcome=outcome,
        evidence_level=evidence, body="", **kw,
    )


def call(lead, staff, when, outcome, sid="", talk=None, answered=None, direction="outbound", **kw):
    evidence = kw.pop("evidence", EvidenceLevel.VERIFIED if sid else EvidenceLevel.SELF_REPORTED)
    return event(lead, staff, when, "call", direction, outcome, evidence, call_sid=sid, talk_seconds=talk,
                 answered_by_person=answered, **kw)


@pytest.fixture
def fixture(store, org):
    a, b = org["agent"], org["agent2"]
    leads = {n: LeadFactory(store=store, owner=a if n <= 5 else b) for n in range(1, 8)}
    L = leads  # noqa: N806

    # ---- agent A, day D1 ------------------------------------------------------------------
    # L1: a click-to-call: attempt settled by "connected", 95 s with a person: two-way.
    attempt = call(L[1], a, at(D1, "09:00"), "attempt", "CA1")
    call(L[1], a, at(D1, "09:02"), "connected", "CA1", talk=95, answered=True, supersedes=attempt)
    # L2: no answer (settled attempt), plus the same outcome recorded twice without superseding:
    # still one dial. A text sent -> delivered. The customer texts back (no staff on the event).
    attempt = call(L[2], a, at(D1, "09:10"), "attempt", "CA2")
    call(L[2], a, at(D1, "09:11"), "no_answer", "CA2", supersedes=attempt)
    call(L[2], a, at(D1, "09:11"), "no_answer", "CA2")
    sent = event(L[2], a, at(D1, "09:15"), "text", "outbound", "sent", message_sid="SM1")
    event(L[2], a, at(D1, "09:16"), "text", "outbound", "delivered", message_sid="SM1", supersedes=sent)
    event(L[2], None, at(D1, "11:00"), "text", "inbound", "reply", message_sid="SM2")
    # L3: connected but 12 s (< 30 s: not two-way); a voicemail (not connected). The customer
    # replies on D2 only.
    attempt = call(L[3], a, at(D1, "10:00"), "attempt", "CA3")
    call(L[3], a, at(D1, "10:01"), "connected", "CA3", talk=12, answered=True, supersedes=attempt)
    call(L[3], a, at(D1, "10:05"), "voicemail", "CA4", talk=25, answered=False)
    # L4: an attempt never settled (counts as a dial); a self-reported connected call from a
    # personal cell (no talk time: not two-way); an email.
    call(L[4], a, at(D1, "10:30"), "attempt", "CA5")
    call(L[4], a, at(D1, "12:00"), "connected", outside_company_channels=True)
    event(L[4], a, at(D1, "14:00"), "email", "outbound", "sent", email_message_id="<e1@north.example>")
    # L5: a self-reported "connected" corrected to "voicemail" (counts once, as the correction);
    # a busy call at 23:30 local = 04:30 UTC on D2: still D1 in the store's zone.
    wrong = call(L[5], a, at(D1, "13:00"), "connected")
    call(L[5], a, at(D1, "13:05"), "voicemail", supersedes=wrong)
    call(L[5], a, at(D1, "23:30"), "busy", "CA6")
    # L1: a note.
    event(L[1], a, at(D1, "15:00"), "note", "", "note", EvidenceLevel.SELF_REPORTED)
    # Hand count, A on D1:
    #   dials 8 (CA1 CA2 CA3 CA4 CA5 CA6 + 2 self-reported), connected 3 (CA1 CA3 self@L4),
    #   talk 95+12 = 107, texts 1, emails 1, two-way 1 (CA1), activities 8+1+1+1 = 11,
    #   verified 8 (6 calls, text, email), self-reported 3, outside 1,
    #   leads worked 5 (L1-L5), contacted that day 2 (L1 call, L2 reply).

    # ---- agent A, day D2 and the evening before D1 ----------------------------------------
    # 00:30 local on D2 = 05:30 UTC: D2. 23:59 local on D0 = 04:59 UTC on D1: D0, outside the range.
    call(L[1], a, at(D2, "00:30"), "connected", "CA7", talk=40, answered=True)
    event(L[3], a, at(D2, "08:00"), "text", "inbound", "reply", message_sid="SM3")
    call(L[1], a, at(D0, "23:59"), "no_answer", "CA0")
    # Hand count, A on D2: dials 1, connected 1, talk 40, two-way 2 (CA7, reply), activities 1,
    # verified 1, leads worked 1 (L1; a reply is not the agent's activity), contacted 1.

    # ---- agent B, D1 ----------------------------------------------------------------------
    call(L[6], b, at(D1, "16:00"), "connected", "CA8", talk=200, answered=True, direction="inbound")
    event(L[7], b, at(D1, "17:00"), "visit", "inbound", "visited")
    call(L[7], b, at(D1, "09:00"), "connected", talk=60, answered=True, evidence=EvidenceLevel.IMPORTED,
         source_system="OldCRM", external_id="x-1")
    # Hand count, B on D1: dials 1 (imported), connected 1, talk 260, inbound answered 1,
    # visits 1, two-way 3, activities 3, verified 2, imported 1, leads worked 2, contacted 2.

    # ---- another store: never counted -----------------------------------------------------
    other = StoreFactory()
    stranger = StaffFactory(store=other)
    other_lead = LeadFactory(store=other, owner=stranger)
    call(other_lead, stranger, at(D1, "10:00"), "connected", "CA9", talk=300, answered=True)
    return {"a": a, "b": b, "leads": leads}


def as_dict(row) -> dict:
    fields = [
        "dials", "connected_calls", "talk_seconds", "inbound_calls_answered", "texts_sent", "emails_sent", "visits",
        "two_way_contacts", "activities", "verified", "self_reported", "imported", "outside_company_channels",
        "leads_worked", "leads_contacted",
    ]
    return {f: getattr(row, f) for f in fields}


A_D1 = dict(dials=8, connected_calls=3, talk_seconds=107, inbound_calls_answered=0, texts_sent=1, emails_sent=1,
            visits=0, two_way_contacts=1, activities=11, verified=8, self_reported=3, imported=0,
            outside_company_channels=1, leads_worked=5, leads_contacted=2)
A_D2 = dict(dials=1, connected_calls=1, talk_seconds=40, inbound_calls_answered=0, texts_sent=0, emails_sent=0,
            visits=0, two_way_contacts=2, activities=1, verified=1, self_reported=0, imported=0,
            outside_company_channels=0, leads_worked=1, leads_contacted=1)
B_D1 = dict(dials=1, connected_calls=1, talk_seconds=260, inbound_calls_answered=1, texts_sent=0, emails_sent=0,
            visits=1, two_way_contacts=3, activities=3, verified=2, self_reported=0, imported=1,
            outside_company_channels=0, leads_worked=2, leads_contacted=2)


def test_staff_days_match_the_hand_count(store, fixture, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = metrics.staff_days(store, D1, D2)
    a, b = fixture["a"], fixture["b"]
    assert [(r.staff_id, r.day) for r in rows] == sorted([(a.pk, D1), (a.pk, D2), (b.pk, D1)])
    by_key = {(r.staff_id, r.day): r for r in rows}
    assert as_dict(by_key[(a.pk, D1)]) == A_D1
    assert as_dict(by_key[(a.pk, D2)]) == A_D2
    assert as_dict(by_key[(b.pk, D1)]) == B_D1


def test_connection_ratio_and_contact_rate_are_kept_apart(store, fixture):
    a_d1 = next(r for r in metrics.staff_days(store, D1) if r.staff_id == fixture["a"].pk)
    assert a_d1.connection_ratio == pytest.approx(3 / 8)  # dial level
    assert a_d1.contact_rate == pytest.approx(2 / 5)  # lead level
    assert a_d1.verified_share == pytest.approx(8 / 11)


def test_day_boundary_is_the_store_zone(store, fixture):
    """23:30 local on D1 is D2 in UTC but counts on D1; 23:59 local on D0 is D1 in UTC but not counted."""
    a_d1 = next(r for r in metrics.staff_days(store, D1) if r.staff_id == fixture["a"].pk)
    assert a_d1.dials == 8
    d0 = metrics.staff_days(store, D0)
    assert [(r.staff_id, r.day, r.dials) for r in d0] == [(fixture["a"].pk, D0, 1)]


def test_period_counts_each_lead_and_call_once(store, fixture, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = metrics.staff_period(store, D1, D2)
    a = next(r for r in rows if r.staff_id == fixture["a"].pk)
    assert (a.first_day, a.last_day) == (D1, D2)
    assert as_dict(a) == dict(
        dials=9, connected_calls=4, talk_seconds=147, inbound_calls_answered=0, texts_sent=1, emails_sent=1,
        visits=0, two_way_contacts=3, activities=12, verified=9, self_reported=3, imported=0,
        outside_company_channels=1, leads_worked=5,
        leads_contacted=3,  # L1, L2 and now L3 (its reply came on D2)
    )


def test_store_total_is_one_row(store, fixture, django_assert_num_queries):
    with django_assert_num_queries(1):
        [total] = metrics.staff_period(store, D1, D2, per_staff=False)
    assert total.staff_id is None
    assert (total.dials, total.connected_calls, total.talk_seconds) == (10, 5, 407)
    assert (total.leads_worked, total.leads_contacted) == (7, 5)
    assert total.contact_rate == pytest.approx(5 / 7)


def test_team_selection_and_empty_days(store, fixture):
    [only_b] = metrics.staff_period(store, D1, D2, staff_ids=[fixture["b"].pk], per_staff=False)
    assert as_dict(only_b) == B_D1
    [nothing] = metrics.staff_period(store, dt.date(2026, 1, 1), dt.date(2026, 1, 1), per_staff=False)
    assert nothing.dials == 0 and nothing.connection_ratio is None and nothing.contact_rate is None
    assert metrics.staff_days(store, dt.date(2026, 1, 1)) == []


def test_min_talk_seconds_is_the_stores_when_the_call_was_recorded(store, fixture):
    """The classification is stored with the event: lowering the minimum later re-judges no
    past call (CA3's 12 s stay short), and a 12 s call recorded after the change counts."""
    store.min_talk_seconds = 10
    store.save(update_fields=["min_talk_seconds"])
    a_d1 = next(r for r in metrics.staff_days(store, D1) if r.staff_id == fixture["a"].pk)
    assert a_d1.two_way_contacts == 1
    call(LeadFactory(store=store, owner=fixture["a"]), fixture["a"], at(D1, "16:00"), "connected", "CA12",
         talk=12, answered=True)
    a_d1 = next(r for r in metrics.staff_days(store, D1) if r.staff_id == fixture["a"].pk)
    assert a_d1.two_way_contacts == 2


def test_two_way_rule_at_the_threshold(store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    call(lead, org["agent"], at(D1, "09:00"), "connected", "CA30", talk=30, answered=True)
    call(lead, org["agent"], at(D1, "09:10"), "connected", "CA29", talk=29, answered=True)
    call(lead, org["agent"], at(D1, "09:20"), "connected", "CA99", talk=99, answered=False)
    [row] = metrics.staff_days(store, D1)
    assert (row.dials, row.connected_calls, row.two_way_contacts) == (3, 3, 1)


def test_a_click_to_call_the_agents_own_phone_missed_is_not_a_dial(store, org):
    """telephony.calls settles it as failed without dialing the customer: not a call made.
    A customer's number that fails is a dial."""
    from telephony.models import Call

    agent = org["agent"]
    lead = LeadFactory(store=store, owner=agent)
    for sid, customer_leg in [("CA-agent-missed", ""), ("CA-bad-number", "failed")]:
        Call.objects.create(store=store, call_sid=sid, direction="outbound", staff=agent, customer=lead.customer,
                            lead=lead, customer_leg_status=customer_leg, status="completed",
                            created_at=at(D1, "09:00"))
        attempt = call(lead, agent, at(D1, "09:00"), "attempt", sid)
        call(lead, agent, at(D1, "09:00"), "failed", sid, supersedes=attempt)
    [row] = metrics.staff_days(store, D1)
    assert (row.dials, row.activities, row.verified, row.leads_worked) == (1, 1, 1, 1)
    [period] = metrics.staff_period(store, D1, D1)
    assert period.dials == 1


def test_dashboard_today_yesterday_month(store, fixture, django_assert_num_queries):
    with django_assert_num_queries(3):
        board = metrics.dashboard(store, D2)
    a = fixture["a"].pk
    assert {r.staff_id: r.dials for r in board["today"]} == {a: 1}
    assert {r.staff_id: r.dials for r in board["yesterday"]} == {a: 8, fixture["b"].pk: 1}
    assert {r.staff_id: r.dials for r in board["month_to_date"]} == {a: 10, fixture["b"].pk: 1}
