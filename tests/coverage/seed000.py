"""Seed 000 ("who deserves the deal"), as data: an internet agent worked Maria Gonzalez for
nine days (calls, texts, emails, a recorded conversation), Maria's last email reply came nine
days before the sale, the agent kept following up (2 calls, 3 texts, 3 emails, no answer), and a
retail salesperson of another team sold her a car. Under the store's new internet policy
(two-way every 7 days) the agent is not covered. Every contact event goes through the one write
path (leads.events.contact_event_record) with verified evidence, at fixed datetimes before
`sold_at`.
"""

from __future__ import annotations

import datetime as dt
import itertools

from factories import (
    CustomerEmailFactory,
    CustomerFactory,
    CustomerPhoneFactory,
    LeadFactory,
    StaffFactory,
    TeamFactory,
)

from dealcoverage import services
from dealcoverage.presets import preset
from leads.events import contact_event_record
from leads.models import Channel, Direction, EvidenceLevel, Outcome
from org.models import Role

_sid = itertools.count(1)


def _install(store, name, role, when):
    params = preset(name).to_dict()
    services.policy_version_create(
        store=store, role=role, effective_from=when, created_by=None, **{k: params[k] for k in services.POLICY_FIELDS}
    )


def people(store) -> dict:
    """Two sales managers with a team each, the internet agent on one, the retail salesperson on
    the other, the director; and an agent of the first team who never touched the customer."""
    mike = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="mike", user__first_name="Mike",
                        user__last_name="Reyes")
    rita = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="rita", user__first_name="Rita",
                        user__last_name="Olsen")
    team_a = TeamFactory(store=store, name="Team Reyes", manager=mike)
    team_b = TeamFactory(store=store, name="Team Olsen", manager=rita)
    return {
        "mike": mike, "rita": rita, "team_a": team_a, "team_b": team_b,
        "dana": StaffFactory(store=store, role=Role.INTERNET_AGENT, team=team_a, user__username="dana",
                             user__first_name="Dana", user__last_name="Whitfield"),
        "sam": StaffFactory(store=store, role=Role.RETAIL, team=team_b, user__username="sam",
                            user__first_name="Sam", user__last_name="Ortiz"),
        "lee": StaffFactory(store=store, role=Role.INTERNET_AGENT, team=team_a, user__username="lee",
                            user__first_name="Lee", user__last_name="Park"),
        "director": StaffFactory(store=store, role=Role.INTERNET_DIRECTOR, user__username="dora",
                                 user__first_name="Dora", user__last_name="Quinn"),
    }


def _event(lead, staff, channel, direction, outcome, when, **extra):
    n = next(_sid)
    if channel == Channel.CALL:
        extra.setdefault("call_sid", f"CA{n:032x}")
    elif channel == Channel.TEXT:
        extra.setdefault("message_sid", f"SM{n:032x}")
    elif channel == Channel.EMAIL:
        extra.setdefault("email_message_id", f"<seed000-{n}@north-motors.example>")
    return contact_event_record(
        store=lead.store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=staff.pk if staff else None,
        channel=channel, direction=direction, outcome=outcome, evidence_level=EvidenceLevel.VERIFIED,
        occurred_at=when, recorded_at=when, **extra,
    )


def scenario(store, org: dict, sold_at: dt.datetime) -> dict:
    """The policies, Maria, her lead (Dana's), and the events up to the sale at `sold_at`."""
    _install(store, "internet-new-7d", Role.INTERNET_AGENT, sold_at - dt.timedelta(days=90))
    _install(store, "retail-3d", Role.RETAIL, sold_at - dt.timedelta(days=90))
    start = sold_at - dt.timedelta(days=18)  # nine days of work: day 0 .. day 8, then Maria's reply on day 9
    customer = CustomerFactory(store=store, first_name="Maria", last_name="Gonzalez")
    CustomerPhoneFactory(customer=customer, number="+13125550188")
    CustomerEmailFactory(customer=customer, email="maria.gonzalez@example.com")
    lead = LeadFactory(store=store, customer=customer, owner=org["dana"], received_at=start - dt.timedelta(hours=1),
                       routed_at=start - dt.timedelta(hours=1))
    dana, out, inb = org["dana"], Direction.OUTBOUND, Direction.INBOUND
    hour = dt.timedelta(hours=1)
    for day in range(9):
        at = start + dt.timedelta(days=day)
        if day == 1:  # the first conversation: a recorded call of 6 min 12 s
            _event(lead, dana, Channel.CALL, out, Outcome.CONNECTED, at, talk_seconds=372, answered_by_person=True)
        else:
            _event(lead, dana, Channel.CALL, out, Outcome.NO_ANSWER, at)
        _event(lead, dana, Channel.TEXT, out, Outcome.SENT, at + hour)
        _event(lead, dana, Channel.EMAIL, out, Outcome.SENT, at + 2 * hour)
        if day in (3, 6):
            _event(lead, dana, Channel.EMAIL, inb, Outcome.REPLY, at + 3 * hour)
    last_reply = sold_at - dt.timedelta(days=9)  # Maria's last email: nine days before the sale
    _event(lead, dana, Channel.EMAIL, inb, Outcome.REPLY, last_reply)
    follow_up = [
        (Channel.CALL, Outcome.NO_ANSWER), (Channel.TEXT, Outcome.SENT), (Channel.EMAIL, Outcome.SENT),
        (Channel.CALL, Outcome.NO_ANSWER), (Channel.TEXT, Outcome.SENT), (Channel.EMAIL, Outcome.SENT),
        (Channel.TEXT, Outcome.SENT), (Channel.EMAIL, Outcome.SENT),
    ]
    for i, (channel, outcome) in enumerate(follow_up):  # after the reply: attempts, no answer
        _event(lead, dana, channel, out, outcome, last_reply + dt.timedelta(days=1 + i * 0.8))
    return {"customer": customer, "lead": lead, "last_reply": last_reply}
