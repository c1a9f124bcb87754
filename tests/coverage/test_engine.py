"""The coverage engine, without Django or a database: DESIGN.md's window arithmetic, the seeds'
stories, the explanations, the credit split, and properties checked by Hypothesis."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealcoverage.engine import Event, Policy, Schedule, counts, credit, decide, is_two_way, window_end
from dealcoverage.presets import PRESETS, preset

pytestmark = pytest.mark.clock

CHICAGO = ZoneInfo("America/Chicago")
AGENT, RETAIL, AGENT2 = 7, 9, 8
_ids = itertools.count(1)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """A wall-clock time in the store's zone (America/Chicago)."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=CHICAGO)


def ev(when: dt.datetime, channel: str, outcome: str, *, direction: str = "outbound", staff: int = AGENT,
       evidence: str = "verified", talk: int | None = None, person: bool | None = None, ref: str = "",
       outside: bool = False) -> Event:
    return Event(id=next(_ids), staff_id=staff, channel=channel, direction=direction, outcome=outcome,
                 occurred_at=when, evidence_level=evidence, talk_seconds=talk, answered_by_person=person,
                 evidence_ref=ref, outside_company_channels=outside)


def call_connected(when: dt.datetime, talk: int = 372, **kw) -> Event:
    return ev(when, "call", "connected", talk=talk, person=True, **kw)


def call_unanswered(when: dt.datetime, **kw) -> Event:
    return ev(when, "call", "no_answer", **kw)


def text(when: dt.datetime, **kw) -> Event:
    return ev(when, "text", "delivered", **kw)


def email(when: dt.datetime, **kw) -> Event:
    return ev(when, "email", "sent", **kw)


def email_reply(when: dt.datetime, **kw) -> Event:
    return ev(when, "email", "reply", direction="inbound", **kw)


def schedule(days_off: set[int] | None = None, staff: int = AGENT, **kw) -> Schedule:
    return Schedule(staff_id=staff, days_off=frozenset(days_off or ()), time_zone="America/Chicago", **kw)


# --------------------------------------------------------------------------------------
# Two-way contact and evidence
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (call_connected(at(2025, 1, 6, 10), talk=30), True),
        (call_connected(at(2025, 1, 6, 10), talk=29), False),  # under the minimum talk time
        (ev(at(2025, 1, 6, 10), "call", "connected", talk=300, person=False), False),  # a machine
        (ev(at(2025, 1, 6, 10), "call", "connected", talk=300, person=None), False),  # no verdict
        (ev(at(2025, 1, 6, 10), "call", "voicemail", talk=40, person=False), False),
        (ev(at(2025, 1, 6, 10), "call", "connected", direction="inbound", talk=90, person=True), True),
        (ev(at(2025, 1, 6, 10), "call", "no_answer", direction="inbound"), False),
        (ev(at(2025, 1, 6, 10), "text", "reply", direction="inbound"), True),
        (email_reply(at(2025, 1, 6, 10)), True),
        (text(at(2025, 1, 6, 10)), False),
        (email(at(2025, 1, 6, 10)), False),
        (ev(at(2025, 1, 6, 10), "visit", "visited", direction=""), True),
        (ev(at(2025, 1, 6, 10), "note", "note", direction="", evidence="self_reported"), False),
    ],
)
def test_is_two_way(event: Event, expected: bool) -> None:
    assert is_two_way(event, 30) is expected


def test_min_talk_seconds_is_the_policy_s() -> None:
    short = call_connected(at(2025, 1, 6, 10), talk=45)
    assert counts(short, preset("internet-72h"))
    assert not counts(short, dataclasses.replace(preset("internet-72h"), min_talk_seconds=60))


def test_evidence_levels() -> None:
    """A self-reported 'left message' never counts under a verified-only policy; retail counts it.
    Imported ranks with self-reported; a verified event flagged outside company channels too."""
    left_message = ev(at(2025, 1, 6, 9), "note", "note", direction="", evidence="self_reported")
    imported_call = call_connected(at(2025, 1, 6, 9), evidence="imported")
    personal_cell = call_connected(at(2025, 1, 6, 9), outside=True)
    for event in (left_message, imported_call, personal_cell):
        assert not counts(event, preset("internet-old-7d"))
        assert counts(event, preset("retail-3d"))

    retail = decide(preset("retail-3d"), [left_message], schedule(staff=AGENT), at(2025, 1, 9, 8, 59))
    assert retail.covered and retail.covered_until == at(2025, 1, 9, 9)

    internet = decide(preset("internet-old-7d"), [left_message], schedule(), at(2025, 1, 7))
    assert not internet.covered
    assert internet.not_counted[0].reason == "a note, self-reported: not accepted under verified-only"


# --------------------------------------------------------------------------------------
# Window arithmetic
# --------------------------------------------------------------------------------------


def test_window_boundary_exact_to_the_second() -> None:
    contact = call_connected(at(2025, 10, 2, 10, 12, 7))
    policy = preset("internet-72h")
    end = at(2025, 10, 5, 10, 12, 7)
    on_time = decide(policy, [contact], schedule(), end)
    assert on_time.covered and on_time.covered_until == end
    late = decide(policy, [contact], schedule(), end + dt.timedelta(seconds=1))
    assert not late.covered and late.covered_until == end


def test_only_events_at_or_before_the_moment_count() -> None:
    sale = at(2025, 10, 8, 12)
    policy = preset("internet-72h")
    at_sale = decide(policy, [call_connected(sale)], schedule(), sale)
    assert at_sale.covered
    after = call_connected(sale + dt.timedelta(seconds=1))
    later = decide(policy, [after], schedule(), sale)
    assert not later.covered
    assert later.not_counted == [(after, "after the sale")]
    assert "after the sale: 1 call connected" in later.explanation


def test_dst_spring_forward_168_hours_end_an_hour_later_on_the_wall_clock() -> None:
    # Sunday 9 March 2025, 02:00 CST -> 03:00 CDT in Chicago.
    contact = call_connected(at(2025, 3, 8, 10))
    decision = decide(preset("internet-new-7d"), [contact], schedule(), at(2025, 3, 15, 10, 30))
    assert decision.covered_until == at(2025, 3, 15, 11)  # 11:00 CDT, not 10:00
    assert decision.covered_until - contact.occurred_at == dt.timedelta(hours=168)
    assert decision.covered
    assert "Covered until Sat Mar 15, 11:00 AM" in decision.explanation


def test_dst_fall_back_168_hours_end_an_hour_earlier_on_the_wall_clock() -> None:
    # Sunday 2 November 2025, 02:00 CDT -> 01:00 CST.
    contact = call_connected(at(2025, 11, 1, 10))
    decision = decide(preset("internet-new-7d"), [contact], schedule(), at(2025, 11, 8, 9, 30))
    assert decision.covered_until == at(2025, 11, 8, 9)  # 09:00 CST, not 10:00
    assert decision.covered_until - contact.occurred_at == dt.timedelta(hours=168)
    assert not decision.covered


def test_days_off_pause_seed_001_customer_comes_on_the_agent_s_monday_off() -> None:
    """Last two-way contact Friday 10:12 under 72 h; the customer buys Monday 15:00, the agent's
    day off. Without the pause the window ended Monday 10:12. With it, Monday (inside the window)
    does not count, so the window ends Tuesday 10:12."""
    friday = call_connected(at(2025, 10, 3, 10, 12), ref="CA100")
    monday_sale = at(2025, 10, 6, 15)
    off_monday = schedule({0})
    plain = decide(preset("internet-72h"), [friday], off_monday, monday_sale)
    assert not plain.covered and plain.covered_until == at(2025, 10, 6, 10, 12)
    paused = decide(preset("internet-72h", pause_on_days_off=True), [friday], off_monday, monday_sale)
    assert paused.covered and paused.covered_until == at(2025, 10, 7, 10, 12)
    assert paused.paused_days == [dt.date(2025, 10, 6)]
    assert "paused on days off (Mon Oct 6)" in paused.explanation


def test_days_off_pause_only_counts_days_inside_the_window() -> None:
    """The seed's literal story: contact Thursday 10:12, 72 h ends Sunday 10:12, before Monday.
    No day off fell inside the window, so the pause changes nothing: not covered Monday."""
    thursday = call_connected(at(2025, 10, 2, 10, 12))
    paused = decide(preset("internet-72h", pause_on_days_off=True), [thursday], schedule({0}), at(2025, 10, 6, 15))
    assert not paused.covered and paused.covered_until == at(2025, 10, 5, 10, 12)
    assert paused.paused_days == []


def test_days_off_pause_iterates_and_uses_whole_local_days() -> None:
    # Off Saturday and Sunday, plus Monday 6 October as a specific date: 72 h from Thursday
    # 10:12 = Thu 13 h 48 min + Fri 24 h, then Sat/Sun/Mon are skipped, then 34 h 12 min more.
    thursday = call_connected(at(2025, 10, 2, 10, 12))
    sched = schedule({5, 6}, dates_off=frozenset({dt.date(2025, 10, 6)}))
    end, paused = window_end(thursday.occurred_at, 72, sched, True)
    assert end == at(2025, 10, 8, 10, 12)
    assert paused == [dt.date(2025, 10, 4), dt.date(2025, 10, 5), dt.date(2025, 10, 6)]


def test_days_off_pause_across_dst_skips_a_23_hour_day() -> None:
    # Sunday 9 March 2025 is 23 hours long in Chicago; as a day off it pauses the window 23 h.
    contact = call_connected(at(2025, 3, 7, 12))
    end, paused = window_end(contact.occurred_at, 72, schedule({6}), True)
    assert paused == [dt.date(2025, 3, 9)]
    assert end == at(2025, 3, 11, 12)  # four wall-clock days later, but 95 elapsed hours
    assert end - contact.occurred_at == dt.timedelta(hours=95)


def test_window_started_on_a_day_off_starts_counting_the_next_day() -> None:
    sunday_visit = ev(at(2025, 10, 5, 14), "visit", "visited", direction="")
    end, paused = window_end(sunday_visit.occurred_at, 24, schedule({6}), True)
    assert end == at(2025, 10, 7, 0)
    assert paused == [dt.date(2025, 10, 5)]


# --------------------------------------------------------------------------------------
# Policy rules
# --------------------------------------------------------------------------------------


def test_attempts_never_extend_a_two_way_only_window() -> None:
    contact = call_connected(at(2025, 10, 1, 9))
    attempts = [call_unanswered(at(2025, 10, d, 9)) for d in (2, 3, 4)] + [text(at(2025, 10, 5, 9))]
    policy = preset("internet-72h")
    alone = decide(policy, [contact], schedule(), at(2025, 10, 5, 12))
    with_attempts = decide(policy, [contact, *attempts], schedule(), at(2025, 10, 5, 12))
    assert alone.covered_until == with_attempts.covered_until == at(2025, 10, 4, 9)
    assert not with_attempts.covered
    assert {item.event for item in with_attempts.not_counted} == set(attempts)
    assert all(
        item.reason == "an attempt: only two-way contact keeps coverage alive under 'internet-72h' v1"
        for item in with_attempts.not_counted
    )


def test_initial_two_way_contact_is_required() -> None:
    attempts = [call_unanswered(at(2025, 10, 1, 9)), text(at(2025, 10, 2, 9)), email(at(2025, 10, 3, 9))]
    sale = at(2025, 10, 4, 9)
    old = decide(preset("internet-old-7d"), attempts, schedule(), sale)
    assert not old.covered and old.covered_until is None and old.initial_contact is None
    assert all(item.reason == "before the initial two-way contact" for item in old.not_counted)
    assert "requires an initial two-way contact" in old.explanation
    # Retail needs none: any logged activity keeps coverage for 3 days.
    assert decide(preset("retail-3d"), attempts, schedule(), sale).covered


def test_attempts_before_the_initial_contact_do_not_start_the_window() -> None:
    early_attempt = call_unanswered(at(2025, 10, 1, 9))
    contact = email_reply(at(2025, 10, 3, 9))
    decision = decide(preset("internet-old-7d"), [early_attempt, contact], schedule(), at(2025, 10, 9, 9))
    assert decision.initial_contact == contact and decision.window_started_by == contact
    assert decision.not_counted == [(early_attempt, "before the initial two-way contact")]


def test_every_event_is_counted_or_has_a_reason() -> None:
    events = _nine_day_story()[0]
    for policy in PRESETS.values():
        decision = decide(policy, events, schedule(), at(2025, 9, 30, 11))
        listed = decision.counted + [item.event for item in decision.not_counted]
        assert sorted(e.id for e in listed) == sorted(e.id for e in events)


# --------------------------------------------------------------------------------------
# The seeds' stories
# --------------------------------------------------------------------------------------


def _nine_day_story() -> tuple[list[Event], dt.datetime]:
    """Seed 000: a month of work, 3 email replies; the last two-way contact (an email reply) was
    9 days before the sale, followed by 2 calls, 3 texts and 3 emails, no reply."""
    last_reply = at(2025, 9, 21, 11)
    history = [
        call_connected(at(2025, 9, 1, 10), ref="CA-first"),
        email_reply(at(2025, 9, 5, 16)),
        email_reply(at(2025, 9, 12, 16)),
        email_reply(last_reply, ref="<reply3@mail.example>"),
    ]
    follow_up = [
        call_unanswered(at(2025, 9, 22, 10)),
        text(at(2025, 9, 23, 10)),
        email(at(2025, 9, 24, 10)),
        call_unanswered(at(2025, 9, 25, 10)),
        text(at(2025, 9, 26, 10)),
        email(at(2025, 9, 27, 10)),
        text(at(2025, 9, 28, 10)),
        email(at(2025, 9, 29, 10)),
    ]
    return history + follow_up, last_reply + dt.timedelta(days=9)


def test_seed_000_nine_days_covered_under_the_old_policy_not_the_new() -> None:
    events, sale = _nine_day_story()
    old = decide(preset("internet-old-7d"), events, schedule(), sale)
    assert old.covered
    assert old.window_started_by == events[-1]  # the last email keeps the old window alive
    assert old.covered_until == at(2025, 10, 6, 10)
    new = decide(preset("internet-new-7d"), events, schedule(), sale)
    assert not new.covered
    assert new.window_started_by == events[3]
    assert new.covered_until == at(2025, 9, 28, 11)
    assert "Last two-way contact Sun Sep 21, 11:00 AM, an email reply from the customer." in (
        new.explanation
    )
    assert "2 calls unanswered, 3 texts, 3 emails, no reply: attempts do not extend coverage" in new.explanation


def test_seed_001_thursday_story_under_72_hours() -> None:
    """Contact Thursday by a recorded call; follow-up calls Friday and Saturday, a text Sunday;
    the customer comes Monday. Covered through Sunday 10:12, not on Monday."""
    events = [
        call_connected(at(2025, 10, 2, 10, 12), talk=372, ref="CA9f2e"),
        call_unanswered(at(2025, 10, 3, 11)),
        ev(at(2025, 10, 4, 11), "call", "voicemail", talk=25, person=False),
        text(at(2025, 10, 5, 9)),
    ]
    policy = preset("internet-72h", version=3)
    sunday = decide(policy, events, schedule({0}), at(2025, 10, 5, 10, 12))
    assert sunday.covered
    assert sunday.explanation.startswith(
        "Covered until Sun Oct 5, 10:12 AM: last two-way contact Thu Oct 2, 10:12 AM, a recorded call of 6 min 12 s. "
        "Window 72 h. After it: 2 calls unanswered, 1 text, no reply: attempts do not extend coverage under "
        "'internet-72h' v3."
    )
    monday = decide(policy, events, schedule({0}), at(2025, 10, 6, 14))
    assert not monday.covered
    assert monday.explanation.startswith("Not covered at Mon Oct 6, 2:00 PM: coverage ended Sun Oct 5, 10:12 AM.")
    assert monday.explanation.endswith("Times in America/Chicago.")


def test_explanation_names_what_did_not_count() -> None:
    events = [
        call_connected(at(2025, 10, 2, 10, 12), ref="CA1"),
        ev(at(2025, 10, 3, 9), "note", "note", direction="", evidence="self_reported"),
        ev(at(2025, 10, 3, 10), "text", "failed"),
    ]
    decision = decide(preset("internet-72h"), events, schedule(), at(2025, 10, 4))
    assert "1 note: 'internet-72h' v1 counts only verified evidence" in decision.explanation
    assert "1 text failed: they failed and never reached the customer" in decision.explanation


def test_decision_to_dict_is_json() -> None:
    events, sale = _nine_day_story()
    data = json.loads(json.dumps(decide(preset("internet-new-7d"), events, schedule(), sale).to_dict()))
    assert data["covered"] is False
    assert data["policy"]["name"] == "internet-new-7d"
    assert data["covered_until"] == "2025-09-28T16:00:00+00:00"
    assert len(data["not_counted"]) == 8


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        ev(dt.datetime(2025, 1, 1, 9), "call", "no_answer")  # noqa: DTZ001
    with pytest.raises(ValueError):
        decide(preset("retail-3d"), [], schedule(), dt.datetime(2025, 1, 1, 9))  # noqa: DTZ001


# --------------------------------------------------------------------------------------
# Credit
# --------------------------------------------------------------------------------------

POLICIES = {"internet_agent": preset("internet-72h"), "retail": preset("retail-3d")}


def test_credit_half_deal_and_shares_sum_to_one() -> None:
    sale = at(2025, 10, 4, 12)
    result = credit(
        POLICIES, {AGENT: "internet_agent", RETAIL: "retail"},
        {AGENT: [call_connected(at(2025, 10, 2, 10))]},
        {AGENT: schedule()}, RETAIL, sale, staff_teams={AGENT: 1, RETAIL: 2},
    )
    assert result.winner_id == AGENT
    assert {s.staff_id: s.share for s in result.shares} == {RETAIL: Decimal("0.5"), AGENT: Decimal("0.5")}
    assert sum(s.share for s in result.shares) == Decimal(1)
    assert {s.staff_id: s.team_id for s in result.shares} == {RETAIL: 2, AGENT: 1}
    assert result.decisions[AGENT].covered
    json.dumps(result.to_dict())


def test_credit_uneven_share_still_sums_to_exactly_one() -> None:
    third = dataclasses.replace(preset("internet-72h"), share_when_other_closes=0.3)
    result = credit({"internet_agent": third}, {AGENT: "internet_agent"},
                    {AGENT: [call_connected(at(2025, 10, 2, 10))]}, {}, RETAIL, at(2025, 10, 3))
    assert [s.share for s in result.shares] == [Decimal("0.7"), Decimal("0.3")]
    assert sum(s.share for s in result.shares) == 1


def test_credit_latest_two_way_contact_wins_among_covered_others() -> None:
    sale = at(2025, 10, 4, 12)
    result = credit(
        POLICIES, {AGENT: "internet_agent", AGENT2: "internet_agent", RETAIL: "retail", 5: "retail"},
        {
            AGENT: [call_connected(at(2025, 10, 2, 10), staff=AGENT)],
            AGENT2: [email_reply(at(2025, 10, 3, 8), staff=AGENT2), text(at(2025, 10, 4, 9), staff=AGENT2)],
            # Retail's note is the latest activity of all, but it is not two-way contact.
            RETAIL: [ev(at(2025, 10, 4, 11), "note", "note", direction="", staff=RETAIL, evidence="self_reported")],
        },
        {}, 5, sale,
    )
    assert result.winner_id == AGENT2
    assert result.also_covered == [AGENT, RETAIL]
    assert [s.staff_id for s in result.shares] == [5, AGENT2]
    assert sum(s.share for s in result.shares) == 1
    assert "for review" in result.explanation


def test_credit_nobody_covered_closer_gets_it_all() -> None:
    result = credit(POLICIES, {AGENT: "internet_agent", 99: "sales_manager"},
                    {AGENT: [call_connected(at(2025, 9, 1, 10))], 99: [text(at(2025, 10, 3, 9), staff=99)]},
                    {}, RETAIL, at(2025, 10, 4))
    assert result.winner_id is None
    assert [(s.staff_id, s.share) for s in result.shares] == [(RETAIL, Decimal(1))]
    assert result.skipped == [(99, "no coverage policy for role 'sales_manager'")]


# --------------------------------------------------------------------------------------
# Properties (Hypothesis)
# --------------------------------------------------------------------------------------

BASE = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)  # spans the March DST change in Chicago
ZONES = ["America/Chicago", "America/New_York", "Europe/London", "UTC"]

times = st.integers(min_value=0, max_value=40 * 24 * 3600).map(lambda s: BASE + dt.timedelta(seconds=s))


@st.composite
def events(draw, *, two_way: bool | None = None) -> Event:
    """A random event by AGENT; two_way=True/False forces a verified two-way / non-two-way one."""
    when = draw(times)
    if two_way is True:
        kind = draw(st.sampled_from(["call", "inbound_call", "reply_text", "reply_email", "visit"]))
        return {
            "call": lambda: call_connected(when, talk=draw(st.integers(30, 3000))),
            "inbound_call": lambda: ev(when, "call", "connected", direction="inbound", talk=60, person=True),
            "reply_text": lambda: ev(when, "text", "reply", direction="inbound"),
            "reply_email": lambda: email_reply(when),
            "visit": lambda: ev(when, "visit", "visited", direction=""),
        }[kind]()
    channel = draw(st.sampled_from(["call", "text", "email", "visit", "note"]))
    direction = draw(st.sampled_from(["outbound", "inbound", ""]))
    outcome = draw(st.sampled_from(
        ["connected", "voicemail", "no_answer", "busy", "sent", "delivered", "failed", "reply", "attempt", "visited",
         "note"]
    ))
    event = ev(
        when, channel, outcome, direction=direction,
        evidence=draw(st.sampled_from(["verified", "self_reported", "imported"])),
        talk=draw(st.none() | st.integers(0, 600)), person=draw(st.none() | st.booleans()),
        outside=draw(st.booleans()),
    )
    if two_way is False and is_two_way(event, 30):
        # Keep it an attempt: an outbound call that nobody answered.
        event = dataclasses.replace(event, channel="call", direction="outbound", outcome="no_answer", id=next(_ids))
    return event


policies = st.builds(
    lambda name, pause: preset(name, pause_on_days_off=pause), st.sampled_from(sorted(PRESETS)), st.booleans()
)
schedules = st.builds(
    lambda days, zone: Schedule(staff_id=AGENT, days_off=frozenset(days), time_zone=zone),
    st.sets(st.integers(0, 6), max_size=6), st.sampled_from(ZONES),
)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


@PROPERTY_SETTINGS
@given(policies, schedules, st.lists(events(), max_size=12), events(two_way=True), times)
def test_property_a_two_way_event_never_removes_coverage(
    policy: Policy, sched: Schedule, history: list[Event], contact: Event, moment: dt.datetime
) -> None:
    before = decide(policy, history, sched, moment)
    if contact.occurred_at > moment:
        contact = dataclasses.replace(contact, occurred_at=moment)
    after = decide(policy, [*history, contact], sched, moment)
    if before.covered:
        assert after.covered
        assert after.covered_until >= before.covered_until


@PROPERTY_SETTINGS
@given(st.sampled_from(["internet-new-7d", "internet-5d", "internet-72h"]), st.booleans(), schedules,
       st.lists(events(), max_size=12), events(two_way=False), times)
def test_property_an_attempt_never_extends_a_two_way_only_window(
    name: str, pause: bool, sched: Schedule, history: list[Event], attempt: Event, moment: dt.datetime
) -> None:
    policy = preset(name, pause_on_days_off=pause)
    before = decide(policy, history, sched, moment)
    after = decide(policy, [*history, attempt], sched, moment)
    assert after.covered_until == before.covered_until
    assert after.covered == before.covered
    assert after.window_started_by == before.window_started_by


@PROPERTY_SETTINGS
@given(policies, schedules, st.lists(events(), max_size=12), times)
def test_property_covered_implies_moment_within_the_window(
    policy: Policy, sched: Schedule, history: list[Event], moment: dt.datetime
) -> None:
    decision = decide(policy, history, sched, moment)
    if decision.covered:
        assert decision.covered_until is not None and moment <= decision.covered_until
        assert decision.window_started_by is not None and decision.window_started_by.occurred_at <= moment
    if decision.covered_until is not None:
        # The window is never shorter than its hours, and exactly them without a pause.
        elapsed = decision.covered_until - decision.window_started_by.occurred_at
        assert elapsed >= policy.window
        if not policy.pause_on_days_off:
            assert elapsed == policy.window


@given(policies, schedules, st.lists(events(), max_size=12), times)
def test_property_a_verdict_without_its_explanation_is_the_same_verdict(
    policy: Policy, sched: Schedule, history: list[Event], moment: dt.datetime
) -> None:
    """dealcoverage.live judges hundreds of customers with explain=False and explains the few it shows."""
    full = decide(policy, history, sched, moment)
    bare = decide(policy, history, sched, moment, explain=False)
    assert bare.explanation == "" and full.explanation
    assert dataclasses.replace(bare, explanation=full.explanation) == full


def test_explanations_name_events_as_a_person_would_and_keep_the_ids_in_the_evidence() -> None:
    """Issue 13: no email Message-ID or call SID in the sentence; they stay in the decision's data.
    Times read as every page shows them: 'Thu Oct 2, 10:12 AM'."""
    events = [
        call_connected(at(2025, 10, 2, 10, 12), talk=372, ref="CA9f2e"),
        ev(at(2025, 10, 3, 18, 40), "email", "reply", direction="inbound", ref="<reply9@mail.example>"),
    ]
    decision = decide(preset("internet-72h"), events, schedule(), at(2025, 10, 4, 9))
    assert decision.covered
    assert "<reply9@mail.example>" not in decision.explanation and "CA9f2e" not in decision.explanation
    assert "last two-way contact Fri Oct 3, 6:40 PM, an email reply from the customer." in decision.explanation
    assert decision.window_started_by is not None and decision.window_started_by.evidence_ref == "<reply9@mail.example>"
    data = decision.to_dict()
    assert data["window_started_by"]["evidence_ref"] == "<reply9@mail.example>"
    assert [e["evidence_ref"] for e in data["counted"]] == ["CA9f2e", "<reply9@mail.example>"]
