"""The sales board against a hand-computed fixture.

Store North Motors, America/Chicago (CDT, UTC-5 after March 8 2026), daily call target 100,
response limit 20 min, default hours (Mon-Fri 09:00-20:00, Sat 09:00-18:00, Sunday closed).
The board is computed at NOW = Wednesday March 18 2026, 15:00 local:
today = Mar 18, yesterday = Tue Mar 17, month to date = Mar 1 (a Sunday) .. Mar 18.

People: Team A (manager Max, not a member): agents Ann and Bob, retail Rita, and Ivy (an agent
who left, with one call this month). Team B: agent Cat. No team: Finn (fleet, no numbers).
Also a director, a receptionist (one note: store total only) and another store whose numbers
must never show. Every expected figure is worked out in the comments of `board_fixture`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from factories import ContactEventFactory, LeadFactory, ShiftFactory, StaffFactory, StoreFactory, TeamFactory

from dealcoverage.models import Deal, DealCredit
from distribution.models import LeadRouting
from leads.models import Appointment, EvidenceLevel, LeadStatusChange, SourceType
from org.models import Role, TimeOff
from reporting import salesboard

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

CHICAGO = ZoneInfo("America/Chicago")
NOW = dt.datetime(2026, 3, 18, 15, 0, tzinfo=CHICAGO)
TODAY, YESTERDAY = dt.date(2026, 3, 18), dt.date(2026, 3, 17)


def at(day: int, hhmm: str, month: int = 3) -> dt.datetime:
    return dt.datetime.combine(dt.date(2026, month, day), dt.time.fromisoformat(hhmm), tzinfo=CHICAGO)


def lead(store, owner, when, source=SourceType.THIRD_PARTY, *, breach=None, attempt=None, **kw):
    made = LeadFactory(store=store, owner=owner, received_at=when, source_type=source, **kw)
    if breach is not None:
        LeadRouting.objects.create(
            lead=made, store=store, state="assigned", clock_started_at=when, breach_at=breach, first_attempt_at=attempt
        )
    return made


def call(on, staff, when, outcome, sid="", talk=None, answered=None, **kw):
    evidence = EvidenceLevel.VERIFIED if sid else EvidenceLevel.SELF_REPORTED
    return ContactEventFactory(
        lead=on, staff=staff, occurred_at=when, channel="call", direction="outbound", outcome=outcome,
        evidence_level=evidence, call_sid=sid, talk_seconds=talk, answered_by_person=answered, body="", **kw,
    )


def message(on, staff, when, channel, **kw):
    return ContactEventFactory(
        lead=on, staff=staff, occurred_at=when, channel=channel, direction="outbound", outcome="sent",
        evidence_level=EvidenceLevel.VERIFIED, body="", **kw,
    )


def deal(store, customer, closer, sold_at, judged, skipped=(), credits=()):
    made = Deal.objects.create(
        store=store, customer=customer, closer=closer, sold_at=sold_at, source="browser",
        decision={
            "closer_id": closer.pk,
            "decisions": {str(s.pk): {"covered": True} for s in judged},
            "skipped": [{"staff_id": s.pk, "reason": "no coverage policy for role 'fleet'"} for s in skipped],
        },
    )
    for staff, share, active in credits:
        DealCredit.objects.create(deal=made, staff=staff, share=Decimal(share), reason="test", active=active)
    return made


@pytest.fixture
def board_fixture(db):
    store = StoreFactory(name="North Motors", slug="north-motors", daily_call_target=100)
    max_ = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="max", user__first_name="Max",
                        user__last_name="Manager")
    max2 = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="max2", user__first_name="Mia",
                        user__last_name="Manager")
    team_a = TeamFactory(store=store, name="Team A", manager=max_)
    team_b = TeamFactory(store=store, name="Team B", manager=max2)

    def person(name, role=Role.INTERNET_AGENT, team=None, **kw):
        return StaffFactory(store=store, role=role, team=team, user__username=name.lower(), user__first_name=name,
                            user__last_name="Test", **kw)

    ann, bob = person("Ann", team=team_a), person("Bob", team=team_a)
    rita = person("Rita", Role.RETAIL, team_a)
    ivy = person("Ivy", team=team_a, is_active=False)
    person("Joe", team=team_a, is_active=False)  # left, no numbers: not on the board
    cat = person("Cat", team=team_b)
    finn = person("Finn", Role.FLEET)
    director = person("Dora", Role.INTERNET_DIRECTOR)
    receptionist = person("Rhea", Role.RECEPTIONIST)

    # Targets. Ann works Mon-Fri and took Tue Mar 10 off; Bob, Rita and Finn have no shifts
    # (the store's open days count: Mon-Sat); Cat works Mon-Sat.
    for weekday in range(5):
        ShiftFactory(staff=ann, weekday=weekday)
    for weekday in range(6):
        ShiftFactory(staff=cat, weekday=weekday)
    TimeOff.objects.create(staff=ann, first_day=dt.date(2026, 3, 10), last_day=dt.date(2026, 3, 10))
    # Pace follows each person's own shift: Ann works 09:00-18:00, so at 15:00 6 of her 9 hours
    # are gone: pace = target x 6/9. Bob has no shifts: the store's hours (09:00-20:00), 6/11.
    # Ann: today 100 (pace 66.7), yesterday 100, MTD: 13 weekdays Mar 2..18 less Mar 10 = 12 -> 1200,
    #   pace 11 x 100 + 66.7. Bob: MTD Mon-Sat Mar 1..18 = 18 - 3 Sundays = 15 -> 1500.
    # Team A today: Ann 100 + Bob 100 + Rita 100 = 300 (Ivy left: no target); MTD 1200 + 1500 + 1500 = 4200.

    # ---- Leads, phone-ups and response (limit 20 min) -----------------------------------------
    L1 = lead(store, ann, at(18, "09:00"), breach=at(18, "09:20"), attempt=at(18, "09:05"))  # 5 min, within
    L2 = lead(store, ann, at(18, "10:00"), SourceType.PHONE_UP, breach=at(18, "10:20"), attempt=at(18, "10:30"))  # 30, late
    lead(store, ann, at(18, "14:50"), breach=at(18, "15:10"))  # L3  # clock still running at 15:00: not judged
    lead(store, ann, at(18, "11:00"), duplicate_of=L1)  # a duplicate: never counted
    L5 = lead(store, ann, at(17, "09:00"), breach=at(17, "09:20"), attempt=at(17, "09:12"))  # 12, within
    # 23:30 local on Mar 17 is 04:30 UTC on Mar 18: yesterday in the store's zone. Never attempted,
    # breach passed: judged, not within.
    lead(store, ann, at(17, "23:30"), SourceType.PHONE_UP, breach=at(18, "09:20"))  # L6
    L7 = lead(store, ann, at(2, "10:00"), breach=at(2, "10:20"), attempt=at(2, "11:40"))  # 100, late
    L8 = lead(store, bob, at(18, "12:00"))  # no routing row: its clock never started
    L9 = lead(store, bob, at(5, "09:00"), SourceType.PHONE_UP, breach=at(5, "09:20"), attempt=at(5, "09:08"))  # 8
    L10 = lead(store, cat, at(18, "13:00"), breach=at(18, "13:20"), attempt=at(18, "13:02"))  # 2, within
    lead(store, None, at(18, "09:30"))  # nobody's: not on the board
    L12 = lead(store, ann, at(28, "10:00", month=2))  # last month: in no period (sold this month, below)
    # Ann today: leads 3 (L1 L2 L3), phone-ups 1, median of 5 and 30 = 17.5, within 1 of 2 judged.
    # Ann yesterday: leads 2 (L5 L6), phone-ups 1, median 12, within 1 of 2.
    # Ann MTD: leads 6, phone-ups 2, median of 5 12 30 100 = 21, within 2 (L1 L5) of 5 (L1 L2 L5 L6 L7).
    # Bob today: 1 lead, no median, nothing judged. Bob MTD: 2 leads, 1 phone-up, median 8, 1 of 1.
    # Team A today: 4 leads, median 17.5, 1 of 2. Team A MTD: 8 leads, median of 5 8 12 30 100 = 12, 3 of 6.
    # Store today: 5 leads, median of 5 30 2 = 5, 2 of 3. Store MTD: 9 leads, 3 phone-ups,
    #   median of 2 5 8 12 30 100 = 10, 4 of 7.

    # ---- Activity (telephony.metrics' definitions) ------------------------------------------
    attempt = call(L1, ann, at(18, "09:05"), "attempt", "CA1")
    call(L1, ann, at(18, "09:06"), "connected", "CA1", talk=95, answered=True, supersedes=attempt)  # two-way
    call(L2, ann, at(18, "10:30"), "no_answer", "CA2")
    message(L2, ann, at(18, "10:31"), "text", message_sid="SM1")
    message(L2, ann, at(18, "10:35"), "email", email_message_id="<e1@north.example>")
    # (Any outbound event stamps the lead's first attempt (distribution's signal): L3, still on
    # its clock, gets none, and the events above fall on the attempts the routing rows name.)
    call(L1, ann, at(18, "11:00"), "no_answer")  # self-reported
    call(L5, ann, at(17, "09:12"), "connected", "CA3", talk=40, answered=True)  # two-way
    call(L7, ann, at(2, "11:40"), "no_answer", "CA7")
    call(L8, bob, at(18, "12:10"), "voicemail", "CA4", talk=20, answered=False)
    call(L1, bob, at(18, "13:00"), "no_answer", "CA5")  # Bob on Ann's lead: the team counts L1 once
    call(L7, ivy, at(3, "10:00"), "no_answer", "CA8")
    call(L10, cat, at(18, "13:02"), "connected", "CA6", talk=10, answered=True)  # 10 s: not two-way
    ContactEventFactory(lead=L10, staff=receptionist, occurred_at=at(18, "14:00"), body="walked in to ask")
    # Ann today: dials 3 (CA1 CA2 self), connected 1, texts 1, emails 1, activities 5, verified 4
    #   (all but the self-reported call), leads worked 2 (L1 L2), reached 1 (L1).
    # Ann yesterday: dials 1, connected 1, worked 1, reached 1. Ann MTD: dials 5, connected 2,
    #   worked 4 (L1 L2 L5 L7), reached 2 (L1 L5).
    # Bob today: dials 2, connected 0, worked 2 (L8 L1), reached 1 (L1, by Ann).
    # Team A today: dials 5, connected 1, worked 3 (L1 L2 L8: L1 once), reached 1, activities 7, verified 6.
    # Team A MTD: dials 8 (+ CA3, CA7, Ivy's CA8), connected 2, worked 5 (+ L5 L7), reached 2.
    # Store today: dials 6, connected 2, worked 4 (+ L10), reached 1, activities 9 (+ Cat's call and the
    #   receptionist's note), verified 7. Store MTD: dials 9, connected 3, worked 6, reached 2.

    # ---- Appointments (counted for Appointment.staff) ------------------------------------------
    def appointment(on, staff, created, shown=None, status="set"):
        return Appointment.objects.create(
            store=store, lead=on, customer=on.customer, staff=staff, starts_at=created + dt.timedelta(days=1),
            created_at=created, shown_at=shown, status="shown" if shown else status,
        )

    appointment(L1, ann, at(18, "10:40"))
    appointment(L5, ann, at(17, "09:30"), shown=at(18, "11:00"))
    appointment(L7, ann, at(27, "12:00", month=2), shown=at(3, "11:00"))  # set last month, shown this month
    appointment(L10, cat, at(18, "13:05"), status="canceled")  # set today, canceled since: still set today
    # Ann: today set 1 shown 1; yesterday set 1 shown 0; MTD set 2 shown 2. Cat today: set 1.

    # ---- Lead statuses: not what "sold" counts (the deals below are: D1..D3 this month) -------------
    LeadStatusChange.objects.create(lead=L12, from_status="shown", to_status="sold", changed_at=at(18, "14:00"))
    LeadStatusChange.objects.create(lead=L9, from_status="shown", to_status="sold", changed_at=at(17, "16:00"))
    LeadStatusChange.objects.create(lead=L5, from_status="appointment_set", to_status="shown", changed_at=at(18, "11:00"))
    # Sold counts deals by closer (issue 13): Ann yesterday 1 (D2), Bob today 1 (D3), Rita today 1 (D1).

    # ---- Coverage credit ------------------------------------------------------------------------
    # D1 today: Rita closed, Ann covered: Ann wins a half; Bob was judged and got nothing: Bob lost.
    deal(store, L1.customer, rita, at(18, "12:00"), judged=[rita, ann, bob],
         credits=[(rita, "0.5", True), (ann, "0.5", True)])
    # D2 yesterday: Ann closed alone (not a win); Cat had events but no policy (skipped): Cat lost.
    deal(store, L5.customer, ann, at(17, "17:00"), judged=[ann], skipped=[cat], credits=[(ann, "1", True)])
    # D3 today: Bob closed; Ann's original half was overridden to Bob: Ann lost (no active credit).
    deal(store, L8.customer, bob, at(18, "13:00"), judged=[bob, ann],
         credits=[(bob, "0.5", False), (ann, "0.5", False), (bob, "1", True)])
    # D4 last month: nothing this month.
    deal(store, L7.customer, rita, at(20, "12:00", month=2), judged=[rita, ann], credits=[(ann, "0.5", True)])
    # Ann: today won 1 (0.5 of a deal), lost 1; Bob today lost 1; Cat yesterday lost 1.
    # Team A today: won 1, lost 2. Store today: won 1, lost 2; MTD: won 1, lost 3.

    # ---- Another store: never on this board --------------------------------------------------------
    other = StoreFactory(name="South Motors", slug="south-motors")
    stranger = StaffFactory(store=other, role=Role.INTERNET_AGENT, user__username="stranger")
    far = lead(other, stranger, at(18, "10:00"), breach=at(18, "10:20"), attempt=at(18, "10:01"))
    call(far, stranger, at(18, "10:01"), "connected", "CA9", talk=300, answered=True)
    LeadStatusChange.objects.create(lead=far, from_status="shown", to_status="sold", changed_at=at(18, "12:00"))
    deal(other, far.customer, stranger, at(18, "12:00"), judged=[stranger, ann], credits=[(stranger, "1", True)])

    return {
        "store": store, "other": other, "ann": ann, "bob": bob, "rita": rita, "ivy": ivy, "cat": cat, "finn": finn,
        "max": max_, "max2": max2, "director": director, "receptionist": receptionist, "team_a": team_a,
        "team_b": team_b, "stranger": stranger,
    }


@pytest.fixture
def snap(board_fixture):
    return salesboard.compute(board_fixture["store"], NOW)


def person(snap, staff):
    [line] = [line for line in snap.people if line.key == staff.pk]
    return line.figures


def team(snap, team_obj):
    [line] = [line for line in snap.teams if line.key == (team_obj.pk if team_obj else None)]
    return line.figures


def pick(figures, *names):
    return {name: getattr(figures, name) for name in names}


LEADS = ("leads", "phone_ups", "response_median", "response_within", "response_judged")


# ------------------------------------------------------------------------------------------
# Each metric against the hand count
# ------------------------------------------------------------------------------------------


def test_periods_are_the_store_days():
    store = StoreFactory.build(time_zone="America/Chicago")
    periods = salesboard.periods_for(store, NOW)
    assert (periods["today"].first_day, periods["today"].last_day) == (TODAY, TODAY)
    assert (periods["yesterday"].first_day, periods["yesterday"].last_day) == (YESTERDAY, YESTERDAY)
    assert (periods["mtd"].first_day, periods["mtd"].last_day) == (dt.date(2026, 3, 1), TODAY)
    # 23:30 on the 17th in Chicago is already the 18th in UTC: still yesterday for the board.
    assert salesboard.local_today(store, dt.datetime(2026, 3, 18, 4, 30, tzinfo=dt.UTC)) == YESTERDAY


def test_leads_phone_ups_and_response_per_person(snap, board_fixture):
    ann, bob = person(snap, board_fixture["ann"]), person(snap, board_fixture["bob"])
    assert pick(ann["today"], *LEADS) == dict(leads=3, phone_ups=1, response_median=17.5, response_within=1, response_judged=2)
    assert pick(ann["yesterday"], *LEADS) == dict(leads=2, phone_ups=1, response_median=12.0, response_within=1,
                                                  response_judged=2)
    assert pick(ann["mtd"], *LEADS) == dict(leads=6, phone_ups=2, response_median=21.0, response_within=2, response_judged=5)
    assert ann["mtd"].response_share == pytest.approx(0.4)
    assert ann["mtd"].slow_response  # 40 % < 80 %
    assert pick(bob["today"], *LEADS) == dict(leads=1, phone_ups=0, response_median=None, response_within=0,
                                              response_judged=0)
    assert bob["today"].response_share is None and not bob["today"].slow_response
    assert pick(bob["mtd"], *LEADS) == dict(leads=2, phone_ups=1, response_median=8.0, response_within=1, response_judged=1)
    assert not bob["mtd"].slow_response


def test_leads_and_response_for_teams_and_store(snap, board_fixture):
    a = team(snap, board_fixture["team_a"])
    assert pick(a["today"], *LEADS) == dict(leads=4, phone_ups=1, response_median=17.5, response_within=1, response_judged=2)
    assert pick(a["mtd"], *LEADS) == dict(leads=8, phone_ups=3, response_median=12.0, response_within=3, response_judged=6)
    total = snap.total.figures
    assert pick(total["today"], *LEADS) == dict(leads=5, phone_ups=1, response_median=5.0, response_within=2,
                                                response_judged=3)
    assert pick(total["mtd"], *LEADS) == dict(leads=9, phone_ups=3, response_median=10.0, response_within=4,
                                              response_judged=7)


ACTIVITY = ("calls", "connected", "texts", "emails", "activities", "verified", "leads_worked", "leads_contacted")


def test_calls_and_messages_per_person(snap, board_fixture):
    ann = person(snap, board_fixture["ann"])
    assert pick(ann["today"], *ACTIVITY) == dict(calls=3, connected=1, texts=1, emails=1, activities=5, verified=4,
                                                 leads_worked=2, leads_contacted=1)
    assert pick(ann["yesterday"], *ACTIVITY) == dict(calls=1, connected=1, texts=0, emails=0, activities=1, verified=1,
                                                     leads_worked=1, leads_contacted=1)
    assert pick(ann["mtd"], "calls", "connected", "leads_worked", "leads_contacted") == dict(
        calls=5, connected=2, leads_worked=4, leads_contacted=2)
    # Dial level and lead level, side by side: 1 of 3 dials connected; 1 of 2 leads worked reached.
    assert ann["today"].connection_ratio == pytest.approx(1 / 3)
    assert ann["today"].contact_rate == pytest.approx(1 / 2)
    assert ann["today"].verified_share == pytest.approx(0.8)
    bob = person(snap, board_fixture["bob"])
    assert pick(bob["today"], "calls", "connected", "leads_worked", "leads_contacted") == dict(
        calls=2, connected=0, leads_worked=2, leads_contacted=1)
    assert bob["today"].connection_ratio == 0.0
    assert bob["today"].contact_rate == pytest.approx(0.5)


def test_team_counts_a_lead_two_teammates_worked_once(snap, board_fixture):
    a = team(snap, board_fixture["team_a"])
    # Ann worked 2 leads today and Bob 2, but L1 is both's: the team worked 3.
    assert pick(a["today"], *ACTIVITY) == dict(calls=5, connected=1, texts=1, emails=1, activities=7, verified=6,
                                               leads_worked=3, leads_contacted=1)
    assert pick(a["mtd"], "calls", "connected", "leads_worked", "leads_contacted") == dict(
        calls=8, connected=2, leads_worked=5, leads_contacted=2)


def test_store_total_counts_everyone_once(snap):
    total = snap.total.figures
    assert pick(total["today"], *ACTIVITY) == dict(calls=6, connected=2, texts=1, emails=1, activities=9, verified=7,
                                                   leads_worked=4, leads_contacted=1)
    assert pick(total["mtd"], "calls", "connected", "leads_worked", "leads_contacted") == dict(
        calls=9, connected=3, leads_worked=6, leads_contacted=2)
    assert total["today"].verified_share == pytest.approx(7 / 9)


def test_call_targets_follow_shifts_and_time_off(snap, board_fixture):
    ann, bob = person(snap, board_fixture["ann"]), person(snap, board_fixture["bob"])
    assert (ann["today"].call_target, ann["yesterday"].call_target, ann["mtd"].call_target) == (100, 100, 1200)
    assert ann["today"].call_pace == pytest.approx(100 * 6 / 9)
    assert ann["yesterday"].call_pace == pytest.approx(100)
    assert ann["mtd"].call_pace == pytest.approx(1100 + 100 * 6 / 9)
    assert (ann["today"].shift, ann["mtd"].shift) == ("9am-6pm", "")
    assert (bob["today"].call_target, bob["mtd"].call_target) == (100, 1500)
    assert bob["today"].call_pace == pytest.approx(100 * 6 / 11)
    assert bob["today"].shift == "store hours"
    # 3 calls by 15:00 against a pace of 66.7: behind.
    assert ann["today"].below_target
    assert person(snap, board_fixture["ivy"])["mtd"].call_target == 0  # left: no target
    a = team(snap, board_fixture["team_a"])
    assert (a["today"].call_target, a["mtd"].call_target) == (200, 2700)  # the agents only: retail has no call target


def test_appointments_set_and_shown(snap, board_fixture):
    ann, cat = person(snap, board_fixture["ann"]), person(snap, board_fixture["cat"])
    got = {key: (ann[key].appointments_set, ann[key].appointments_shown) for key in salesboard.PERIOD_KEYS}
    assert got == {"today": (1, 1), "yesterday": (1, 0), "mtd": (2, 2)}
    assert (cat["today"].appointments_set, cat["today"].appointments_shown) == (1, 0)
    assert (snap.total.figures["mtd"].appointments_set, snap.total.figures["mtd"].appointments_shown) == (3, 2)


def test_sold_and_sold_share(snap, board_fixture):
    """Sold is the deals each person closed (issue 13: the board and the deal list agree), not
    leads moved to sold: L12 and L9 were marked sold without a deal and count for no one."""
    ann, bob, rita = (person(snap, board_fixture[n]) for n in ("ann", "bob", "rita"))
    assert (ann["today"].sold, ann["yesterday"].sold, ann["mtd"].sold) == (0, 1, 1)
    assert ann["today"].sold_share == 0
    assert ann["mtd"].sold_share == pytest.approx(1 / 6)
    assert (bob["today"].sold, bob["yesterday"].sold, bob["mtd"].sold) == (1, 0, 1)
    assert bob["mtd"].sold_share == pytest.approx(0.5)
    assert (rita["today"].sold, rita["mtd"].sold) == (1, 1)  # D4, last month, is not in March
    assert team(snap, board_fixture["team_a"])["mtd"].sold == 3  # Ann, Bob and Rita's deals: each once
    assert snap.total.figures["mtd"].sold == 3  # the other store's sale is not ours


def test_coverage_credits_won_and_lost(snap, board_fixture):
    ann, bob, cat, rita = (person(snap, board_fixture[n]) for n in ("ann", "bob", "cat", "rita"))
    assert (ann["today"].credits_won, ann["today"].credit_share_won, ann["today"].credits_lost) == (1, Decimal("0.5"), 1)
    assert (bob["today"].credits_won, bob["today"].credits_lost) == (0, 1)
    assert (cat["yesterday"].credits_lost, cat["today"].credits_lost, cat["mtd"].credits_lost) == (1, 0, 1)
    assert (rita["today"].credits_won, rita["today"].credits_lost) == (0, 0)  # the closer neither wins nor loses
    assert (ann["mtd"].credits_won, ann["mtd"].credits_lost) == (1, 1)  # last month's deal is not in March
    a = team(snap, board_fixture["team_a"])
    assert (a["today"].credits_won, a["today"].credits_lost) == (1, 2)
    assert (snap.total.figures["mtd"].credits_won, snap.total.figures["mtd"].credits_lost) == (1, 3)


def test_who_is_on_the_board(snap, board_fixture):
    names = {line.name.split()[0] for line in snap.people}
    # Active salespeople always; Ivy left but has calls this month; Joe left with nothing;
    # managers, the director and the receptionist have no numbers of their own here.
    assert names == {"Ann", "Bob", "Rita", "Ivy", "Cat", "Finn"}
    assert [line.name for line in snap.teams] == ["Team A", "Team B", "No team"]
    no_team = team(snap, None)
    assert no_team["today"].is_empty()  # Finn's zeros: the receptionist's note is the store's, not "No team"'s
    assert "Stranger" not in {line.name for line in snap.people}


def test_trend_month_to_date_per_team(snap, board_fixture):
    trend = snap.trend
    assert trend.days[0] == dt.date(2026, 3, 1) and trend.days[-1] == TODAY and len(trend.days) == 18
    a, b = board_fixture["team_a"].pk, board_fixture["team_b"].pk
    calls = {trend.days[i].day: n for i, n in enumerate(trend.calls[a]) if n}
    leads = {trend.days[i].day: n for i, n in enumerate(trend.leads[a]) if n}
    assert calls == {2: 1, 3: 1, 17: 1, 18: 5}
    assert leads == {2: 1, 5: 1, 17: 2, 18: 4}  # L6 at 23:30 on the 17th stays on the 17th
    assert sum(trend.calls[b]) == 1 and sum(trend.leads[b]) == 1


def test_empty_period_is_zeros_not_an_error(db):
    store = StoreFactory()
    agent = StaffFactory(store=store, role=Role.INTERNET_AGENT, team=TeamFactory(store=store, name="Quiet"))
    snap = salesboard.compute(store, NOW)
    [line] = snap.people
    assert line.key == agent.pk
    for figures in [*line.figures.values(), *snap.total.figures.values()]:
        assert (figures.leads, figures.calls, figures.sold, figures.credits_lost) == (0, 0, 0, 0)
        assert figures.response_median is None
        assert (figures.response_share, figures.connection_ratio, figures.contact_rate, figures.sold_share,
                figures.verified_share) == (None, None, None, None, None)
    assert sum(sum(series) for series in snap.trend.calls.values()) == 0


def test_a_store_with_nobody_at_all(db):
    snap = salesboard.compute(StoreFactory(), NOW)
    assert snap.people == [] and snap.teams == []
    assert snap.total.figures["mtd"].is_empty()


def test_compute_runs_a_fixed_number_of_queries(board_fixture, django_assert_num_queries):
    store = board_fixture["store"]
    with django_assert_num_queries(salesboard.QUERIES):
        salesboard.compute(store, NOW)
    # Twice the people, a new team, more leads and calls: the same number of queries.
    team_c = TeamFactory(store=store, name="Team C")
    for i in range(8):
        agent = StaffFactory(store=store, role=Role.INTERNET_AGENT, team=team_c if i % 2 else board_fixture["team_b"])
        ShiftFactory(staff=agent, weekday=2)
        extra = lead(store, agent, at(18, "09:00"), breach=at(18, "09:20"), attempt=at(18, "09:10"))
        call(extra, agent, at(18, "09:10"), "no_answer", f"CX{i}")
    with django_assert_num_queries(salesboard.QUERIES):
        bigger = salesboard.compute(store, NOW)
    assert len(bigger.people) == 6 + 8


# ------------------------------------------------------------------------------------------
# The page: scoping, periods, CSV, TV mode, query count (real time: today's data is made now)
# ------------------------------------------------------------------------------------------


def moments_today(store) -> list[dt.datetime]:
    """Instants earlier today in the store's zone (never before its local midnight)."""
    now = timezone.now()
    midnight = dt.datetime.combine(timezone.localtime(now, store.tz).date(), dt.time.min, tzinfo=store.tz)
    return [max(midnight + dt.timedelta(seconds=i), now - dt.timedelta(minutes=10 - i)) for i in range(5)]


@pytest.fixture
def live(board_fixture):
    """A little of today, on real time, for the page: Ann has a lead and two calls, Cat one call."""
    store, ann, cat = board_fixture["store"], board_fixture["ann"], board_fixture["cat"]
    t = moments_today(store)
    mine = lead(store, ann, t[0], breach=t[0] + dt.timedelta(minutes=20), attempt=t[1])
    call(mine, ann, t[1], "connected", "CL1", talk=120, answered=True)
    call(mine, ann, t[2], "no_answer", "CL2")
    theirs = lead(store, cat, t[0])
    call(theirs, cat, t[3], "no_answer", "CL3")
    return board_fixture


def client_for(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


def test_director_sees_the_store_with_totals(live):
    response = client_for(live["director"]).get("/sales-board/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Ann Test", "Bob Test", "Cat Test", "Team A total", "Team B total", "North Motors"):
        assert name in html
    assert 'class="sb-row store"' in html  # the store total row
    assert "Stranger" not in html
    # Each person links to their recorded calls.
    assert f'/calls/review/?staff={live["ann"].pk}"' in html
    assert html.count("<svg") >= 2  # trend charts, drawn on the server


def test_manager_sees_only_their_team(live):
    html = client_for(live["max"]).get("/sales-board/").content.decode()
    assert "Ann Test" in html and "Team A total" in html
    assert "Cat Test" not in html and "Team B" not in html
    assert 'class="sb-row store"' not in html  # no store total for a team's manager
    rows = list(csv.DictReader(io.StringIO(client_for(live["max"]).get("/sales-board/?format=csv").content.decode())))
    # Ivy (who left) has no numbers this real month: not listed.
    assert {r["person"] for r in rows if r["row"] == "person"} == {"Ann Test", "Bob Test", "Rita Test"}
    assert {r["row"] for r in rows} == {"person", "team"}


def test_another_store_is_not_found_and_agents_get_nothing(live):
    other = live["other"]
    assert client_for(live["director"]).get(f"/sales-board/?store={other.pk}").status_code == 404
    assert client_for(live["max"]).get(f"/sales-board/?store={other.pk}").status_code == 404
    assert client_for(live["ann"]).get("/sales-board/").status_code == 404
    assert client_for(live["receptionist"]).get("/sales-board/").status_code == 404
    assert Client().get("/sales-board/").status_code == 302  # to the login page


def test_bad_input_is_a_clear_400(live):
    client = client_for(live["director"])
    response = client.get("/sales-board/?period=week")
    assert response.status_code == 400 and "use today, yesterday or mtd" in response.content.decode()
    response = client.get("/sales-board/?format=xls")
    assert response.status_code == 400 and "csv" in response.content.decode()
    response = client.get("/sales-board/?store=north")
    assert response.status_code == 400 and "store id" in response.content.decode()


def test_group_admin_picks_a_store_or_sees_the_group(live):
    store, other = live["store"], live["other"]
    sister = StoreFactory(name="East Motors", slug="east-motors", group=store.group)
    admin = StaffFactory(store=store, role=Role.ADMIN, user__username="principal")
    client = client_for(admin)
    html = client.get("/sales-board/").content.decode()
    assert "North Motors" in html and "East Motors" in html and "South Motors" not in html
    assert f'data-store="{store.pk}"' in html and f'data-store="{sister.pk}"' in html
    html = client.get(f"/sales-board/?store={store.pk}").content.decode()
    assert "Ann Test" in html and "All stores" in html
    assert client.get(f"/sales-board/?store={other.pk}").status_code == 404


def test_periods_switch(live):
    client = client_for(live["director"])
    today = client.get("/sales-board/").content.decode()
    mtd = client.get("/sales-board/?period=mtd").content.decode()
    assert 'data-period="today"' in today and 'data-period="mtd"' in mtd
    assert 'class="sb-tab active" aria-current="page" data-period="mtd"' in mtd
    # htmx asks for the board alone when a tab is clicked.
    partial = client.get("/sales-board/?period=yesterday", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="board"') and "<html" not in partial


def test_csv_has_the_board_numbers(live):
    response = client_for(live["director"]).get("/sales-board/?format=csv&period=today")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    ann = next(r for r in rows if r["person"] == "Ann Test")
    # Today for Ann (real time): the live lead, 2 dials, 1 connected, reached 1 of 1 lead worked.
    assert (ann["leads"], ann["calls"], ann["connected_calls"], ann["connection_ratio_pct"]) == ("1", "2", "1", "50.0")
    assert (ann["leads_worked"], ann["leads_contacted"], ann["contact_rate_pct"]) == ("1", "1", "100.0")
    assert ann["response_within_limit"] == "1" and ann["response_within_limit_pct"] == "100.0"
    assert ann["team"] == "Team A" and ann["row"] == "person" and ann["period"] == "today"
    store_row = next(r for r in rows if r["row"] == "store")
    assert (store_row["calls"], store_row["leads"]) == ("3", "2")
    finn = next(r for r in rows if r["person"] == "Finn Test")
    assert finn["connection_ratio_pct"] == "" and finn["calls"] == "0"  # no dials: blank, not an error
    assert {r["row"] for r in rows} == {"person", "team", "store"}


def test_csv_guards_against_spreadsheet_formulas(live):
    bob = live["bob"]
    bob.user.first_name = "=HYPERLINK(1)"
    bob.user.save()
    rows = list(csv.DictReader(io.StringIO(client_for(live["director"]).get("/sales-board/?format=csv").content.decode())))
    assert any(r["person"] == "'=HYPERLINK(1) Test" for r in rows)


def test_tv_mode_has_big_type_no_nav_and_refreshes_itself(live):
    response = client_for(live["director"]).get("/sales-board/?tv=1")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<header class="top">' not in html  # no navigation
    assert 'class="tv-body"' in html and 'hx-trigger="every 60s"' in html
    assert '<meta http-equiv="refresh"' in html
    assert html.count('<div class="tv-tile') == 5 and "Ann Test" in html
    # The refresh asks for the TV partial only.
    partial = client_for(live["director"]).get("/sales-board/?tv=1", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="tv"') and "Ann Test" in partial


def test_the_page_reads_the_snapshot_with_few_queries(live, django_assert_max_num_queries):
    client = client_for(live["director"])
    client.get("/sales-board/")  # computes the snapshot (no worker in tests) and keeps it
    with django_assert_max_num_queries(6):  # session, user, staff, store; the board from the cache
        response = client.get("/sales-board/?period=mtd")
    assert response.status_code == 200


def test_a_first_look_computes_with_a_bounded_number_of_queries(live, django_assert_max_num_queries):
    client = client_for(live["director"])
    with django_assert_max_num_queries(salesboard.QUERIES + 8):
        assert client.get("/sales-board/").status_code == 200


def test_stale_snapshot_is_served_and_a_refresh_queued(live):
    store = live["store"]
    fresh = salesboard.snapshot(store)
    later = fresh.computed_at + dt.timedelta(seconds=salesboard.FRESH_SECONDS + 5)
    cache.delete(salesboard._lock_key(store.pk))
    served = salesboard.snapshot(store, later)
    assert served.computed_at == fresh.computed_at  # the stale copy, at once
    assert cache.get(salesboard._lock_key(store.pk)) == 1  # and a worker asked to recompute
    # Older than STALE_SECONDS: computed in the request.
    much_later = fresh.computed_at + dt.timedelta(seconds=salesboard.STALE_SECONDS + 1)
    assert salesboard.snapshot(store, much_later).computed_at == much_later


def test_refresh_recomputes_and_new_numbers_show(live):
    store, ann = live["store"], live["ann"]
    before = salesboard.snapshot(store)
    mine = [line for line in before.people if line.key == ann.pk][0].figures["today"].calls
    t = moments_today(store)
    call(lead(store, ann, t[0]), ann, t[4], "no_answer", "CL9")
    assert salesboard.snapshot_refresh(store.pk) is not None  # the Celery task's body
    after = salesboard.snapshot(store)
    assert [line for line in after.people if line.key == ann.pk][0].figures["today"].calls == mine + 1


def test_refresh_due_queues_missing_and_old_boards(live):
    store, other = live["store"], live["other"]
    salesboard.snapshot_refresh(store.pk)
    assert salesboard.refresh_due() == 1  # the other store has none yet
    assert cache.get(salesboard._lock_key(other.pk)) == 1
    assert cache.get(salesboard._lock_key(store.pk)) is None


def test_credits_read_a_decision_the_coverage_services_froze(db):
    """End to end with a real judgement: Ann's two-way call two days ago keeps her covered under
    internet-72h when Rita closes; Bob's call three weeks ago does not: Ann wins half the deal,
    Bob is judged and gets nothing (lost)."""
    from dealcoverage import services
    from dealcoverage.presets import preset

    store = StoreFactory()
    ann = StaffFactory(store=store, role=Role.INTERNET_AGENT)
    bob = StaffFactory(store=store, role=Role.INTERNET_AGENT)
    rita = StaffFactory(store=store, role=Role.RETAIL)
    params = preset("internet-72h").to_dict()
    services.policy_version_create(
        store=store, role=Role.INTERNET_AGENT, effective_from=timezone.now() - dt.timedelta(days=60), created_by=None,
        **{k: params[k] for k in services.POLICY_FIELDS},
    )
    sold_at = moments_today(store)[4]
    customer_lead = lead(store, ann, sold_at - dt.timedelta(days=25))
    call(customer_lead, bob, sold_at - dt.timedelta(days=21), "connected", "CB1", talk=200, answered=True)
    call(customer_lead, ann, sold_at - dt.timedelta(days=2), "connected", "CA1", talk=200, answered=True)
    services.deal_record(store=store, customer=customer_lead.customer, closer=rita, sold_at=sold_at, source="browser")
    snap = salesboard.compute(store)
    assert (person(snap, ann)["today"].credits_won, person(snap, ann)["today"].credits_lost) == (1, 0)
    assert (person(snap, bob)["today"].credits_won, person(snap, bob)["today"].credits_lost) == (0, 1)
    assert (person(snap, rita)["today"].credits_won, person(snap, rita)["today"].credits_lost) == (0, 0)


def test_the_beat_keeps_snapshots_warm_through_the_celery_tasks(live, settings):
    from reporting import tasks

    [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "leads.tasks.salesboard_refresh_due_task"]
    assert entry["schedule"].run_every.total_seconds() <= salesboard.FRESH_SECONDS
    store = live["store"]
    assert salesboard._cached([store.pk]) == {}
    assert tasks.salesboard_refresh_task(store.pk) is True  # the worker's job, run in process
    [snap] = salesboard._cached([store.pk]).values()
    assert snap.store_id == store.pk and snap.today == salesboard.local_today(store, timezone.now())
    assert tasks.salesboard_refresh_task(999_999) is False  # a store deleted since: nothing to do


def test_history_restore_gets_the_whole_page(live):
    client = client_for(live["director"])
    html = client.get("/sales-board/?period=mtd", HTTP_HX_REQUEST="true",
                      HTTP_HX_HISTORY_RESTORE_REQUEST="true").content.decode()
    assert "<html" in html and '<header class="top">' in html


# ------------------------------------------------------------------------------------------
# Pace against each person's own shift; the schedule in force on a past day (issue 13, point 5)
# ------------------------------------------------------------------------------------------

EVENING = [(day, dt.time(18), dt.time(2)) for day in range(5)]  # Mon-Fri 6 pm - 2 am
DAYTIME = [(day, dt.time(9), dt.time(17)) for day in range(5)]  # Mon-Fri 9-5


@pytest.mark.parametrize(
    ("shifts", "clock", "pace"),
    [
        (EVENING, (10, 0), 0.0),  # the trial's "6/120, behind pace (114 by now)": her shift starts at 6 pm
        (EVENING, (17, 59), 0.0),
        (EVENING, (20, 0), 30.0),  # 2 of 8 hours
        (EVENING, (23, 0), 75.0),
        (DAYTIME, (13, 0), 60.0),  # 4 of 8 hours
        (DAYTIME, (18, 0), 120.0),  # after the shift: all of it
    ],
)
def test_day_target_follows_the_persons_own_shift(shifts, clock, pace):
    now = dt.datetime(2026, 3, 18, *clock, tzinfo=CHICAGO)
    assert salesboard.day_target(120, shifts, CHICAGO, dt.date(2026, 3, 18), now) == (120, pytest.approx(pace))


def test_day_target_overnight_split_and_days_off():
    # 1 am Thursday: Wednesday's evening shift is 7/8 gone; Thursday's has not started.
    now = dt.datetime(2026, 3, 19, 1, 0, tzinfo=CHICAGO)
    assert salesboard.day_target(120, EVENING, CHICAGO, dt.date(2026, 3, 18), now) == (120, pytest.approx(105))
    assert salesboard.day_target(120, EVENING, CHICAGO, dt.date(2026, 3, 19), now) == (120, 0.0)
    split = [(2, dt.time(9), dt.time(13)), (2, dt.time(15), dt.time(19))]
    at_two = dt.datetime(2026, 3, 18, 14, 0, tzinfo=CHICAGO)
    assert salesboard.day_target(120, split, CHICAGO, dt.date(2026, 3, 18), at_two) == (120, pytest.approx(60))
    saturday = dt.date(2026, 3, 21)
    assert salesboard.day_target(120, EVENING, CHICAGO, saturday, now) == (0, 0.0)  # no shift: no target
    assert salesboard.day_target(120, EVENING, CHICAGO, dt.date(2026, 3, 18), now, off=True) == (0, 0.0)


def test_schedule_on_reads_the_version_in_force():
    old, new = [(0, dt.time(9), dt.time(17))], [(0, dt.time(18), dt.time(2))]
    versions = [(dt.date.min, old), (dt.date(2026, 3, 18), new)]
    today = dt.date(2026, 3, 18)
    assert salesboard.schedule_on(versions, new, dt.date(2026, 3, 17), today) == old
    assert salesboard.schedule_on(versions, new, dt.date(2026, 3, 2), today) == old
    assert salesboard.schedule_on(versions, new, today, today) == new
    assert salesboard.schedule_on([], new, dt.date(2026, 3, 17), today) == new  # no history: the current week
    later = [(dt.date(2026, 3, 18), new)]  # a version that starts after the day asked: the current week
    assert salesboard.schedule_on(later, new, dt.date(2026, 3, 17), today) == new


def test_editing_a_shift_today_keeps_past_targets(board_fixture):
    from org import schedules
    from org.models import ScheduleVersion

    store, ann = board_fixture["store"], board_fixture["ann"]
    before = person(salesboard.compute(store, NOW), ann)
    assert (before["yesterday"].call_target, before["mtd"].call_target) == (100, 1200)
    # Today (Wednesday) the manager moves Ann to evenings, Tue-Sat 6 pm - 2 am.
    week = {0: "off", 1: "6pm-2am", 2: "6pm-2am", 3: "6pm-2am", 4: "6pm-2am", 5: "6pm-2am", 6: "off"}
    schedules.week_save(staff=ann, days=week, now=NOW)
    after = person(salesboard.compute(store, NOW), ann)
    # Yesterday and the days before keep the Mon-Fri 9-6 week they were worked under.
    assert after["yesterday"].call_target == 100 and after["yesterday"].call_pace == pytest.approx(100)
    assert after["yesterday"].shift == "9am-6pm"
    assert after["mtd"].call_target == 1200
    # Today is the new shift: at 3 pm it has not started, so nothing is due yet.
    assert (after["today"].call_target, after["today"].call_pace, after["today"].shift) == (100, 0.0, "6pm-2am")
    assert after["mtd"].call_pace == pytest.approx(1100)
    assert not after["today"].below_target
    # The history: the week replaced (since always) and the new one from today; a second edit the
    # same day replaces today's version.
    assert list(ScheduleVersion.objects.filter(staff=ann).values_list("effective_from", flat=True)) == [
        dt.date.min, dt.date(2026, 3, 18)]
    schedules.week_save(staff=ann, days={**week, 2: "off"}, now=NOW + dt.timedelta(hours=1))
    assert ScheduleVersion.objects.filter(staff=ann).count() == 2
    later = person(salesboard.compute(store, NOW + dt.timedelta(hours=1)), ann)
    assert (later["today"].call_target, later["today"].shift, later["mtd"].call_target) == (0, "off", 1100)
    # A week on (Wednesday Mar 25): Mar 18-24 are past days under the new week (Tue-Sat, but Wed
    # Mar 18 off after the second edit); the days before Mar 18 still under the old one.
    week_on = person(salesboard.compute(store, NOW + dt.timedelta(days=7)), ann)
    # Old week Mar 2-17: 11 working days (Mar 10 off); new week Mar 18-25: Thu 19, Fri 20, Sat 21, Tue 24,
    # Wed 25 (today: off) -> 4.
    assert week_on["mtd"].call_target == 100 * (11 + 4)


def test_tv_numbers_and_medals_only_people_with_activity(live):
    html = client_for(live["director"]).get("/sales-board/?tv=1").content.decode()
    # Ann and Cat called today; Bob, Rita and Finn did nothing: listed, not ranked, no medal.
    assert html.count('class="medal ') == 2
    ann_row = html[html.index(f'data-staff="{live["ann"].pk}"'):]
    assert ann_row.index('class="medal medal-1"') < ann_row.index("</tr>")
    for idle in ("bob", "rita", "finn"):
        row = html[html.index(f'data-staff="{live[idle].pk}"'):]
        row = row[:row.index("</tr>")]
        assert "medal" not in row and 'class="unranked"' in row
