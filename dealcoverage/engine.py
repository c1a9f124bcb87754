"""The coverage engine: who is covered on a customer at a moment, and who shares a deal's credit.

Pure Python on purpose (DESIGN.md, "Architecture principles"): no Django, no database, no
clock. The database layer turns ContactEvent rows into `Event`s, the store's policy rows into
`Policy`s and the staff schedules into `Schedule`s, calls `decide` / `credit`, and freezes the
result with the deal. Everything a manager could argue about is decided here, once, and the
same inputs always give the same answer and the same explanation.

The rules (DESIGN.md, "Coverage policy"):

- A window runs from the latest event that keeps coverage alive under the policy (two-way
  contact only, or any follow-up attempt) at or above the policy's minimum evidence level, and
  only when the initial two-way contact the policy may require was made at or before it.
- The window is elapsed time: 168 h is 168 real hours, whatever the wall clock does across a
  daylight-saving change. All arithmetic is done in UTC for that reason.
- The end is inclusive: a sale exactly at the end is covered, one second later it is not.
- With `pause_on_days_off`, the staff member's scheduled days off (whole calendar days in the
  store's time zone) inside the window do not count: the end moves later by them, and a moved
  end that reaches further days off moves again.
- Only events at or before the moment judged count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from dealcoverage.formatting import percent
from leads import contact

UTC = dt.UTC

# The longest coverage window a policy may set: a year. The API and the policy form both hold to it.
MAX_WINDOW_HOURS = 24 * 365

KeepsAlive = Literal["any_attempt", "two_way"]
MinEvidence = Literal["verified", "self_reported"]
StaffId = int | str

# Evidence ranks. `imported` ranks with `self_reported`: an imported event comes from another
# system (an old CRM, the DMS) whose provenance this system cannot check; seed 000's DMS notes
# ("left message") are exactly that kind of record. DESIGN.md says self-reported evidence is
# "never silently upgraded", and calling an import verified would be such an upgrade.
# `simulated` (the telephony sandbox, a backend that delivers no mail) ranks with them too: it
# looks like a recorded call but reached nobody, so it is never verified.
EVIDENCE_RANK: dict[str, int] = {"verified": 2, "self_reported": 1, "imported": 1, "simulated": 1}

# Outcomes of a call that did not reach a person (shown as "unanswered" in explanations).
UNANSWERED_CALL_OUTCOMES = {"no_answer", "busy", "attempt", "voicemail"}


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def _require_aware(value: dt.datetime, what: str) -> None:
    # A naive datetime has no meaning for a store in another zone; refuse it rather than guess.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Policy:
    """One version of a coverage policy, as data (DESIGN.md's parameters)."""

    name: str
    version: int
    role: str
    initial_two_way_required: bool
    keeps_alive: KeepsAlive
    window_hours: int
    min_evidence: MinEvidence
    share_when_other_closes: Decimal = Decimal("0.5")
    pause_on_days_off: bool = False
    min_talk_seconds: int = 30

    def __post_init__(self) -> None:
        if self.keeps_alive not in ("any_attempt", "two_way"):
            raise ValueError(f"keeps_alive must be 'any_attempt' or 'two_way', got {self.keeps_alive!r}")
        if self.min_evidence not in ("verified", "self_reported"):
            raise ValueError(f"min_evidence must be 'verified' or 'self_reported', got {self.min_evidence!r}")
        if self.window_hours <= 0:
            raise ValueError("window_hours must be positive")
        if self.min_talk_seconds < 0:
            raise ValueError("min_talk_seconds must not be negative")
        # Shares are money-like: keep them exact so the shares of a deal add up to exactly 1.
        # A float such as 0.5 goes through str() so 0.1 stays 0.1 and not 0.1000000000000000055...
        share = self.share_when_other_closes
        if not isinstance(share, Decimal):
            share = Decimal(str(share))
            object.__setattr__(self, "share_when_other_closes", share)
        if not Decimal(0) <= share <= Decimal(1):
            raise ValueError("share_when_other_closes must be between 0 and 1")

    @property
    def label(self) -> str:
        """How a manager hears the policy named: 'internet-72h' v3; a what-if proposal, which is no
        saved version (version 0), 'internet-72h + days-off pause' (proposed)."""
        if self.version == 0:
            return f"'{self.name}' (proposed)"
        return f"'{self.name}' v{self.version}"

    @property
    def window(self) -> dt.timedelta:
        return dt.timedelta(hours=self.window_hours)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "role": self.role,
            "initial_two_way_required": self.initial_two_way_required,
            "keeps_alive": self.keeps_alive,
            "window_hours": self.window_hours,
            "min_evidence": self.min_evidence,
            "share_when_other_closes": str(self.share_when_other_closes),
            "pause_on_days_off": self.pause_on_days_off,
            "min_talk_seconds": self.min_talk_seconds,
        }


@dataclass(frozen=True, kw_only=True)
class Event:
    """A contact event as the engine sees it, independent of the ContactEvent model.

    The caller passes only events nothing supersedes (a call's ringing 'attempt' settled by its
    outcome is passed as the outcome only)."""

    id: int | str
    staff_id: StaffId
    channel: str  # call / text / email / visit / note
    direction: str  # outbound / inbound / ""
    outcome: str  # connected / voicemail / no_answer / busy / sent / delivered / failed / reply / attempt / visited / note
    occurred_at: dt.datetime
    evidence_level: str = "verified"  # verified / self_reported / imported
    talk_seconds: int | None = None
    answered_by_person: bool | None = None
    evidence_ref: str = ""  # call SID, message SID or email Message-ID, quoted in explanations
    # Done from a personal cell or address: self-reported whatever evidence_level says.
    outside_company_channels: bool = False
    # The classification stored with the event when it was written (leads.contact, with the
    # store's minimum talk time then); None for events judged as given (the stateless judge),
    # which are classified by the same rule with the policy's minimum.
    two_way: bool | None = None

    def __post_init__(self) -> None:
        _require_aware(self.occurred_at, f"Event {self.id!r} occurred_at")
        if self.evidence_level not in EVIDENCE_RANK:
            raise ValueError(f"Event {self.id!r}: unknown evidence level {self.evidence_level!r}")

    @property
    def effective_evidence(self) -> str:
        # DESIGN.md: done outside company channels is self-reported; never upgrade it.
        if self.outside_company_channels and self.evidence_level == "verified":
            return "self_reported"
        return self.evidence_level

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "staff_id": self.staff_id,
            "channel": self.channel,
            "direction": self.direction,
            "outcome": self.outcome,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "evidence_level": self.evidence_level,
            "talk_seconds": self.talk_seconds,
            "answered_by_person": self.answered_by_person,
            "evidence_ref": self.evidence_ref,
            "outside_company_channels": self.outside_company_channels,
            "two_way": self.two_way,
        }


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A staff member's scheduled days off, in the store's time zone."""

    staff_id: StaffId
    days_off: frozenset[int] = frozenset()  # weekday numbers, 0 = Monday
    time_zone: str = "UTC"  # IANA name of the store's zone
    dates_off: frozenset[dt.date] = frozenset()  # specific dates off (vacation, a swapped day)

    def __post_init__(self) -> None:
        object.__setattr__(self, "days_off", frozenset(self.days_off))
        object.__setattr__(self, "dates_off", frozenset(self.dates_off))
        if any(day not in range(7) for day in self.days_off):
            raise ValueError("days_off holds weekday numbers 0 (Monday) to 6 (Sunday)")
        # With every weekday off a paused window would never end: refuse the schedule instead.
        if len(self.days_off) == 7:
            raise ValueError("a schedule cannot have every weekday off")
        ZoneInfo(self.time_zone)  # raises for an unknown zone, now rather than mid-decision

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_off(self, day: dt.date) -> bool:
        return day.weekday() in self.days_off or day in self.dates_off


# --------------------------------------------------------------------------------------
# Classifying events
# --------------------------------------------------------------------------------------


def is_two_way(event: Event, min_talk_seconds: int = 30) -> bool:
    """Two-way contact, by the one rule in leads.contact: the classification stored with the
    event, or for an event given without one, the rule applied with `min_talk_seconds`."""
    if event.two_way is not None:
        return event.two_way
    return contact.is_two_way(
        channel=event.channel, direction=event.direction, outcome=event.outcome,
        evidence_level=event.evidence_level, talk_seconds=event.talk_seconds,
        answered_by_person=event.answered_by_person, min_talk_seconds=min_talk_seconds,
    )


def meets_evidence(event: Event, policy: Policy) -> bool:
    return EVIDENCE_RANK[event.effective_evidence] >= EVIDENCE_RANK[policy.min_evidence]


def is_activity(event: Event, min_talk_seconds: int = 30) -> bool:
    """Something the staff member did for the customer: a follow-up attempt or better.

    Not activity: a message or call that failed (it never reached the customer) and an inbound
    call nobody answered (the customer tried; the staff member did nothing)."""
    if is_two_way(event, min_talk_seconds):
        return True
    if event.outcome == "failed":
        return False
    if event.direction == "inbound":
        # An inbound call answered but shorter than the minimum is still a call the staff member took.
        return event.channel == "call" and event.outcome == "connected"
    return True


def counts(event: Event, policy: Policy) -> bool:
    """Whether the event alone can keep coverage alive under the policy: the right kind (two-way,
    or any attempt) at or above the minimum evidence. The time rules (initial contact, the
    moment) are decide()'s."""
    if not meets_evidence(event, policy):
        return False
    if policy.keeps_alive == "two_way":
        return is_two_way(event, policy.min_talk_seconds)
    return is_activity(event, policy.min_talk_seconds)


# Why an event did not count. The code groups events in the explanation; `reason` is the
# sentence stored beside each event.
AFTER, OTHER_STAFF, EVIDENCE, FAILED, MISSED, BEFORE_INITIAL, ATTEMPT = (
    "after", "other_staff", "evidence", "failed", "missed", "before_initial", "attempt",
)


EVIDENCE_WORDS = {
    "self_reported": "self-reported", "imported": "imported from another system",
    "simulated": "simulated by the sandbox", "verified": "verified",
}


class NotCounted(NamedTuple):
    event: Event
    reason: str


def _exclusion(event: Event, policy: Policy, moment: dt.datetime, staff_id: StaffId | None) -> tuple[str, str] | None:
    """(code, reason) for an event that cannot count whatever else happened, else None."""
    if event.occurred_at > moment:
        return AFTER, "after the sale"
    if staff_id is not None and event.staff_id != staff_id:
        return OTHER_STAFF, "another staff member's contact"
    if not meets_evidence(event, policy):
        level = EVIDENCE_WORDS.get(event.effective_evidence, event.effective_evidence)
        if event.outside_company_channels:
            level = "outside company channels (self-reported)"
        noun = "a note" if event.channel == "note" else f"a {'typed ' if level == 'self-reported' else ''}{event.channel}"
        return EVIDENCE, f"{noun}, {level}: not accepted under {policy.min_evidence.replace('_', '-')}-only"
    if event.outcome == "failed":
        return FAILED, "failed: it never reached the customer"
    if not is_activity(event, policy.min_talk_seconds):
        return MISSED, "a call from the customer that nobody answered is not the staff member's follow-up"
    return None


# --------------------------------------------------------------------------------------
# The window
# --------------------------------------------------------------------------------------


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(UTC)


def window_end(
    start: dt.datetime, hours: int, schedule: Schedule | None = None, pause_on_days_off: bool = False
) -> tuple[dt.datetime, list[dt.date]]:
    """The end of a window of `hours` elapsed hours from `start`, and the days off that paused it.

    Arithmetic is in UTC: adding a timedelta to a datetime in a ZoneInfo zone adds wall-clock
    time, which would make a 168 h window across a DST change 167 or 169 real hours.

    With the pause, walk forward one local calendar day at a time, spending the window's hours
    only on days that are not days off. This is the fixed point of "move the end later by the
    days off inside the window, again and again", computed directly. When the hours run out
    exactly at midnight before a day off, the end is that midnight: the sale at that instant is
    covered, and nothing later on the day off is."""
    start = start.astimezone(UTC)
    remaining = dt.timedelta(hours=hours)
    if not pause_on_days_off or schedule is None or (not schedule.days_off and not schedule.dates_off):
        return start + remaining, []
    zone = schedule.zone
    paused: list[dt.date] = []
    cursor = start
    while True:
        day = cursor.astimezone(zone).date()
        next_midnight = _local_midnight(day + dt.timedelta(days=1), zone)
        if schedule.is_off(day):
            paused.append(day)
            cursor = next_midnight
            continue
        if cursor + remaining <= next_midnight:
            return cursor + remaining, paused
        remaining -= next_midnight - cursor
        cursor = next_midnight


def live_since(
    moment: dt.datetime, hours: int, schedule: Schedule | None = None, pause_on_days_off: bool = False
) -> dt.datetime:
    """The earliest start of a window of `hours` that can still be open at `moment`: for every
    start before it, window_end(start) < moment. window_end walked backwards, with the same local
    midnights, so a caller may leave out customers with no event since then without changing a
    verdict (a window only starts at an event, and the days off before a start pause nothing).

    With the pause, walk back one local day at a time, spending the hours on days that are not
    off; once they are spent, the days off just before still belong (a window started on one
    waits for the next working day, so it ends where the window from that day's end would)."""
    moment = moment.astimezone(UTC)
    remaining = dt.timedelta(hours=hours)
    if not pause_on_days_off or schedule is None or (not schedule.days_off and not schedule.dates_off):
        return moment - remaining
    zone = schedule.zone
    cursor = moment
    while True:
        day = (cursor - dt.timedelta(microseconds=1)).astimezone(zone).date()  # the day that ends at cursor
        day_start = _local_midnight(day, zone)
        if schedule.is_off(day):
            cursor = day_start
            continue
        if remaining <= dt.timedelta(0):
            return cursor
        if cursor - remaining > day_start:
            return cursor - remaining
        remaining -= cursor - day_start
        cursor = day_start


# --------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Decision:
    policy: Policy
    staff_id: StaffId | None
    moment: dt.datetime
    covered: bool
    covered_until: dt.datetime | None
    window_started_by: Event | None
    initial_contact: Event | None
    last_two_way: Event | None  # the latest counted two-way contact, what credit() compares
    counted: list[Event]
    not_counted: list[NotCounted]
    paused_days: list[dt.date] = field(default_factory=list)
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        def when(value: dt.datetime | None) -> str | None:
            return value.astimezone(UTC).isoformat() if value is not None else None

        def ref(event: Event | None) -> dict[str, Any] | None:
            return event.to_dict() if event is not None else None

        return {
            "policy": self.policy.to_dict(),
            "staff_id": self.staff_id,
            "moment": when(self.moment),
            "covered": self.covered,
            "covered_until": when(self.covered_until),
            "window_started_by": ref(self.window_started_by),
            "initial_contact": ref(self.initial_contact),
            "last_two_way": ref(self.last_two_way),
            "counted": [event.to_dict() for event in self.counted],
            "not_counted": [{"event": item.event.to_dict(), "reason": item.reason} for item in self.not_counted],
            "paused_days": [day.isoformat() for day in self.paused_days],
            "explanation": self.explanation,
        }


def _order(event: Event) -> tuple[dt.datetime, str]:
    # Chronological; ties broken by id so the same inputs always give the same decision.
    return event.occurred_at.astimezone(UTC), str(event.id)


def decide(
    policy: Policy, events: Iterable[Event], schedule: Schedule | None, moment: dt.datetime, *, explain: bool = True
) -> Decision:
    """Is the schedule's staff member covered at `moment` (the sale) under `policy`?

    `events` are that staff member's contact events with the customer (others are listed as not
    counted). Without a schedule there are no days off and times are shown in UTC. `explain=False`
    leaves the explanation empty (the same verdict, for a page that judges hundreds of customers
    and explains a few)."""
    _require_aware(moment, "moment")
    moment = moment.astimezone(UTC)
    staff_id = schedule.staff_id if schedule is not None else None
    zone = schedule.zone if schedule is not None else ZoneInfo("UTC")
    ordered = sorted(events, key=_order)

    # 1. Events that cannot count at all, whatever the history.
    eligible: list[Event] = []
    rejected: list[tuple[Event, str, str]] = []
    for event in ordered:
        excluded = _exclusion(event, policy, moment, staff_id)
        if excluded is None:
            eligible.append(event)
        else:
            rejected.append((event, *excluded))

    two_way = [event for event in eligible if is_two_way(event, policy.min_talk_seconds)]
    last_two_way = two_way[-1] if two_way else None

    # 2. The initial contact: the first two-way contact at the policy's evidence level.
    initial = two_way[0] if two_way else None
    counted: list[Event] = []
    for event in eligible:
        if policy.initial_two_way_required and (initial is None or _order(event) < _order(initial)):
            rejected.append((event, BEFORE_INITIAL, "before the initial two-way contact"))
        elif policy.keeps_alive == "two_way" and not is_two_way(event, policy.min_talk_seconds):
            rejected.append(
                (event, ATTEMPT, f"an attempt: only two-way contact keeps coverage alive under {policy.label}")
            )
        else:
            counted.append(event)

    # 3. The window runs from the latest event that keeps coverage alive.
    started_by = counted[-1] if counted else None
    covered_until: dt.datetime | None = None
    paused: list[dt.date] = []
    if started_by is not None:
        covered_until, paused = window_end(started_by.occurred_at, policy.window_hours, schedule, policy.pause_on_days_off)
    covered = covered_until is not None and moment <= covered_until

    rejected.sort(key=lambda item: _order(item[0]))
    decision = Decision(
        policy=policy,
        staff_id=staff_id,
        moment=moment,
        covered=covered,
        covered_until=covered_until,
        window_started_by=started_by,
        initial_contact=initial if policy.initial_two_way_required else None,
        last_two_way=last_two_way,
        counted=counted,
        not_counted=[NotCounted(event, reason) for event, _code, reason in rejected],
        paused_days=paused,
    )
    if explain:
        decision.explanation = _explain(decision, rejected, zone)
    return decision


# --------------------------------------------------------------------------------------
# Explanations: a paragraph a manager can read aloud, in the store's time zone
# --------------------------------------------------------------------------------------


def clock(local: dt.datetime) -> str:
    """'10:44 PM': the app's time of day (Django's "g:i A"), locale-independent."""
    return f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def day_words(day: dt.date) -> str:
    """'Thu Nov 26' (Django's "D M j")."""
    return f"{day:%a %b} {day.day}"


def when(value: dt.datetime, zone: ZoneInfo) -> str:
    """A moment as every page of the app shows it: 'Thu Nov 26, 10:44 PM' (Django's "D M j, g:i A"),
    in the store's zone. The date is spelled out: "Thu 10:12" alone is ambiguous once a story
    spans weeks (seed 000). Frozen explanations keep the format they were written in."""
    local = value.astimezone(zone)
    return f"{day_words(local.date())}, {clock(local)}"


_when = when


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "an unknown time"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def describe(event: Event, min_talk_seconds: int = 30) -> str:
    """One event in words, as a person would say it: 'a recorded call of 6 min 12 s', 'an email
    reply from the customer'. Never by its call SID or Message-ID: those stay in the decision's
    evidence (Event.evidence_ref in `counted` / `window_started_by`), not in the sentence."""
    level = event.effective_evidence
    tag = "" if level == "verified" else f", {level.replace('_', '-')}"
    if event.channel == "call":
        inbound = event.direction == "inbound"
        if is_two_way(event, min_talk_seconds) and event.talk_seconds is None:
            text = "a typed call: spoke with the customer"
        elif is_two_way(event, min_talk_seconds):
            kind = "an inbound call answered" if inbound else ("a recorded call" if level == "verified" else "a call")
            text = f"{kind} of {_duration(event.talk_seconds)}"
        elif event.outcome == "voicemail":
            text = "a call to voicemail"
        elif event.outcome == "connected":
            text = f"a call of {_duration(event.talk_seconds)}, not two-way"
        elif event.outcome == "failed":
            text = "a failed call"
        else:
            text = "a call from the customer, unanswered" if inbound else "a call, unanswered"
    elif event.channel in ("text", "email"):
        noun = "text" if event.channel == "text" else "email"
        if event.outcome == "failed":
            text = f"a failed {noun}"
        elif is_two_way(event, min_talk_seconds):
            text = f"a{'n' if noun == 'email' else ''} {noun} reply from the customer"
        else:
            text = f"a{'n' if noun == 'email' else ''} {noun}"
    elif event.channel == "visit":
        text = "a visit"
    else:
        text = "a note"
    return f"{text}{tag}"


def _noun(event: Event, min_talk_seconds: int) -> tuple[str, str]:
    """(noun, qualifier) for counting events in a group: ('call', 'unanswered')."""
    if event.channel == "call":
        if event.direction == "inbound" and event.outcome != "connected":
            return "call", "from the customer, unanswered"
        if event.outcome in UNANSWERED_CALL_OUTCOMES:  # a voicemail too: nobody picked up
            return "call", "unanswered"
        if event.outcome == "failed":
            return "call", "failed"
        if is_two_way(event, min_talk_seconds):
            return "call", "connected"
        return "call", "connected but not two-way"
    if event.channel in ("text", "email"):
        if event.outcome == "failed":
            return event.channel, "failed"
        return event.channel, "from the customer" if is_two_way(event, min_talk_seconds) else ""
    return event.channel, ""


def _tally(events: Sequence[Event], min_talk_seconds: int) -> str:
    order: list[tuple[str, str]] = []
    count: dict[tuple[str, str], int] = {}
    for event in events:
        key = _noun(event, min_talk_seconds)
        if key not in count:
            order.append(key)
            count[key] = 0
        count[key] += 1
    parts = []
    for noun, qualifier in order:
        n = count[(noun, qualifier)]
        parts.append(f"{n} {noun}{'' if n == 1 else 's'}{' ' + qualifier if qualifier else ''}")
    return ", ".join(parts)


def _group_sentence(code: str, policy: Policy) -> str:
    return {
        ATTEMPT: f"attempts do not extend coverage under {policy.label}",
        EVIDENCE: f"{policy.label} counts only {policy.min_evidence.replace('_', '-')} evidence, "
        "not self-reported, imported or simulated entries",
        FAILED: "they failed and never reached the customer",
        MISSED: "calls from the customer that nobody answered are not follow-up",
        BEFORE_INITIAL: "they came before the initial two-way contact",
        AFTER: "they came after the sale",
        OTHER_STAFF: "they are another staff member's",
    }[code]


_GROUP_ORDER = [ATTEMPT, EVIDENCE, FAILED, MISSED, BEFORE_INITIAL, OTHER_STAFF]


def _groups(items: Sequence[tuple[Event, str, str]], policy: Policy, *, no_reply: bool) -> str:
    """'2 calls unanswered, 1 text, no reply: attempts do not extend coverage under ...; 1 note: ...'"""
    sentences = []
    for code in _GROUP_ORDER:
        group = [event for event, item_code, _reason in items if item_code == code]
        if not group:
            continue
        tally = _tally(group, policy.min_talk_seconds)
        if code == ATTEMPT and no_reply:
            tally += ", no reply"
        sentences.append(f"{tally}: {_group_sentence(code, policy)}")
    return "; ".join(sentences)


def _explain(decision: Decision, rejected: Sequence[tuple[Event, str, str]], zone: ZoneInfo) -> str:
    policy = decision.policy
    mts = policy.min_talk_seconds
    start = decision.window_started_by
    moment = _when(decision.moment, zone)
    parts: list[str] = []

    if start is None or decision.covered_until is None:
        if policy.initial_two_way_required and decision.initial_contact is None:
            evidence = "verified " if policy.min_evidence == "verified" else ""
            parts.append(
                f"Not covered at {moment}: no {evidence}two-way contact before it, "
                f"and {policy.label} requires an initial two-way contact."
            )
        else:
            kind = "two-way contact" if policy.keeps_alive == "two_way" else "logged activity"
            parts.append(f"Not covered at {moment}: no {kind} that counts under {policy.label}.")
        before = [item for item in rejected if item[1] != AFTER]
        if before:
            parts.append(f"Not counted: {_groups(before, policy, no_reply=False)}.")
    else:
        until = _when(decision.covered_until, zone)
        start_kind = "last two-way contact" if is_two_way(start, mts) else "last follow-up"
        if decision.covered:
            head = f"Covered until {until}: {start_kind}"
        else:
            head = f"Not covered at {moment}: coverage ended {until}. {start_kind.capitalize()}"
        head += f" {_when(start.occurred_at, zone)}, {describe(start, mts)}"
        if not is_two_way(start, mts):
            # Under an any-attempt policy the window may start from an attempt; say what the
            # two-way history was so nobody has to ask.
            if decision.initial_contact is not None:
                first = decision.initial_contact
                head += f"; initial two-way contact {_when(first.occurred_at, zone)}, {describe(first, mts)}"
                if decision.last_two_way is not None and decision.last_two_way is not first:
                    last = decision.last_two_way
                    head += f"; last two-way contact {_when(last.occurred_at, zone)}, {describe(last, mts)}"
            head += f" (any follow-up keeps coverage alive under {policy.label})"
        parts.append(head + ".")
        window = f"Window {policy.window_hours} h"
        if decision.paused_days:
            days = ", ".join(day_words(day) for day in decision.paused_days)
            window += f", paused on days off ({days})"
        parts.append(window + ".")
        after = [item for item in rejected if item[1] != AFTER and _order(item[0]) > _order(start)]
        if after:
            replied = any(event.direction == "inbound" for event, _code, _reason in after)
            parts.append(f"After it: {_groups(after, policy, no_reply=not replied)}.")
    later = [event for event, code, _reason in rejected if code == AFTER]
    if later:
        parts.append(f"Not counted, after the sale: {_tally(later, mts)}.")
    parts.append(f"Times in {zone.key}.")
    return " ".join(parts)


# --------------------------------------------------------------------------------------
# Credit
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Share:
    staff_id: StaffId
    share: Decimal
    reason: str
    policy_name: str | None = None
    policy_version: int | None = None
    team_id: int | str | None = None  # passed through for the DB layer's team credit

    def to_dict(self) -> dict[str, Any]:
        return {
            "staff_id": self.staff_id,
            "share": str(self.share),
            "reason": self.reason,
            "policy_name": self.policy_name,
            "policy_version": self.policy_version,
            "team_id": self.team_id,
        }


@dataclass(kw_only=True)
class CreditDecision:
    closer_id: StaffId
    sold_at: dt.datetime
    shares: list[Share]
    decisions: dict[StaffId, Decision]  # everyone judged, the closer too when a policy applies
    winner_id: StaffId | None  # the covered other who shares the deal
    also_covered: list[StaffId]  # covered too but lost to a later two-way contact: for review
    skipped: list[tuple[StaffId, str]]  # others with events but no policy to judge them by
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "closer_id": self.closer_id,
            "sold_at": self.sold_at.astimezone(UTC).isoformat(),
            "shares": [share.to_dict() for share in self.shares],
            "decisions": {str(staff): decision.to_dict() for staff, decision in self.decisions.items()},
            "winner_id": self.winner_id,
            "also_covered": list(self.also_covered),
            "skipped": [{"staff_id": staff, "reason": reason} for staff, reason in self.skipped],
            "explanation": self.explanation,
        }


def _rank(decision: Decision) -> tuple[dt.datetime, dt.datetime, str]:
    """Latest two-way contact wins; without one (a retail note-only coverage) the person ranks
    below anyone with two-way contact, then by their latest counted activity, then by id so the
    answer never depends on dict order."""
    floor = dt.datetime.min.replace(tzinfo=UTC)
    two_way = decision.last_two_way.occurred_at.astimezone(UTC) if decision.last_two_way else floor
    started = decision.window_started_by.occurred_at.astimezone(UTC) if decision.window_started_by else floor
    return two_way, started, str(decision.staff_id)


def credit(
    policies_by_role: Mapping[str, Policy],
    staff_roles: Mapping[StaffId, str],
    events_by_staff: Mapping[StaffId, Sequence[Event]],
    schedules: Mapping[StaffId, Schedule],
    closer_id: StaffId,
    sold_at: dt.datetime,
    *,
    staff_teams: Mapping[StaffId, int | str | None] | None = None,
    time_zone: str = "UTC",
) -> CreditDecision:
    """Who shares the deal: the closer, plus at most one covered other.

    Every staff member with events is judged by the policy of their role in force at sold_at
    (the caller picks the versions). When several others are covered, the latest two-way contact
    wins and the rest are listed in `also_covered` for a manager's review. The winner gets their
    policy's share; the closer gets exactly 1 minus it. Team credit is the DB layer's.
    `time_zone` is the store's, used for anyone without a schedule."""
    _require_aware(sold_at, "sold_at")
    teams = staff_teams or {}
    decisions: dict[StaffId, Decision] = {}
    skipped: list[tuple[StaffId, str]] = []
    staff_ids = sorted({closer_id, *events_by_staff}, key=str)
    for staff_id in staff_ids:
        role = staff_roles.get(staff_id)
        policy = policies_by_role.get(role) if role is not None else None
        if policy is None:
            if staff_id != closer_id:
                skipped.append((staff_id, f"no coverage policy for role {role!r}"))
            continue
        schedule = schedules.get(staff_id) or Schedule(staff_id=staff_id, time_zone=time_zone)
        decisions[staff_id] = decide(policy, events_by_staff.get(staff_id, ()), schedule, sold_at)

    covered = sorted(
        (d for staff, d in decisions.items() if staff != closer_id and d.covered), key=_rank, reverse=True
    )
    winner = covered[0] if covered else None
    shares: list[Share] = []
    closer_policy = decisions[closer_id].policy if closer_id in decisions else None
    if winner is None:
        shares.append(
            Share(staff_id=closer_id, share=Decimal(1), reason="closed the deal; nobody else was covered",
                  policy_name=closer_policy.name if closer_policy else None,
                  policy_version=closer_policy.version if closer_policy else None, team_id=teams.get(closer_id))
        )
        explanation = "The closer gets the whole deal: nobody else was covered at the sale."
    else:
        other_share = winner.policy.share_when_other_closes
        shares.append(
            Share(staff_id=closer_id, share=Decimal(1) - other_share, reason="closed the deal",
                  policy_name=closer_policy.name if closer_policy else None,
                  policy_version=closer_policy.version if closer_policy else None, team_id=teams.get(closer_id))
        )
        assert winner.staff_id is not None  # decide() was given a schedule
        shares.append(
            Share(staff_id=winner.staff_id, share=other_share,
                  reason=f"covered at the sale under {winner.policy.label}",
                  policy_name=winner.policy.name, policy_version=winner.policy.version,
                  team_id=teams.get(winner.staff_id))
        )
        explanation = f"Staff {winner.staff_id} shares the deal ({percent(other_share)}). {winner.explanation}"
        if len(covered) > 1:
            others = ", ".join(str(d.staff_id) for d in covered[1:])
            explanation += f" Also covered, with an earlier two-way contact, for review: {others}."
    return CreditDecision(
        closer_id=closer_id,
        sold_at=sold_at.astimezone(UTC),
        shares=shares,
        decisions=decisions,
        winner_id=winner.staff_id if winner else None,
        also_covered=[d.staff_id for d in covered[1:] if d.staff_id is not None],
        skipped=skipped,
        explanation=explanation,
    )
