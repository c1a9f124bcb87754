"""Sittings: what a salesperson does with one lead in one go. The first outreach and the
agents' keep-in-touch follow-ups call, text and email (seeds 001/002); retail follow-up is
mostly a note in the DMS (seed 000). Each returns the moment of two-way contact, if any."""

from __future__ import annotations

import math

from .lead_state import LeadState
from .organization import Person
from .timekeeping import HOUR, MINUTE
from .wording import (
    AGENT_NOTES,
    EMAIL_REPLIES,
    EMAIL_SUBJECTS,
    RETAIL_NOTES,
    RETAIL_OUTSIDE,
    TEXT_FIRST,
    TEXT_FOLLOW,
    TEXT_REPLIES,
)


def outreach(lead: LeadState, staff: Person, t: int, engage: bool, first: bool) -> int | None:
    """Call, text and email in one sitting (seed 001's cadence); returns the time of
    two-way contact when the customer engages."""
    rng = lead.sim.rng
    mode = None
    if engage:
        r = rng.random()
        mode = "call" if r < 0.4 else ("callback" if r < 0.52 else ("text" if r < 0.85 else "email"))
    contact = None
    if first or rng.random() < 0.9:
        if mode == "call":
            talk = int(min(max(rng.lognormvariate(math.log(240), 0.7), 45), 2_400))
            lead.call(staff, t, "outbound", "connected", talk, verified=True)
            contact = t + talk
            t += talk + rng.randint(30, 90)
        else:
            t = lead.call_attempt(staff, t)
    if contact is None and (first or rng.random() < 0.65):
        body = lead.fill(rng.choice(TEXT_FIRST if first else TEXT_FOLLOW), staff)
        lead.text(staff, t, "outbound", body)
        if mode == "text":
            contact = t + int(rng.expovariate(1 / (25 * MINUTE))) + 20
            lead.text(staff, contact, "inbound", rng.choice(TEXT_REPLIES))
        t += rng.randint(40, 150)
    if contact is None and (first or rng.random() < 0.5):
        subject = lead.fill(rng.choice(EMAIL_SUBJECTS), staff).replace("{trade}", "your trade")
        lead.email(staff, t, "outbound", subject)
        if mode == "email":
            contact = t + int(rng.uniform(10 * MINUTE, 8 * HOUR))
            lead.email(staff, contact, "inbound", rng.choice(EMAIL_REPLIES))
    if mode is not None and contact is None:
        # The customer calls back after the voicemail and the agent answers.
        contact = t + int(rng.uniform(15 * MINUTE, 3 * HOUR))
        talk = int(min(max(rng.lognormvariate(math.log(200), 0.6), 40), 1_800))
        lead.call(staff, contact, "inbound", "connected", talk, verified=True)
    if rng.random() < 0.04:
        lead.note(staff, t + 120, lead.fill(rng.choice(AGENT_NOTES), staff))
    return contact


def follow_up_agent(lead: LeadState, staff: Person, t: int, p_two_way: float) -> int | None:
    """A keep-in-touch sitting after first contact through the dealer's channels: mostly a
    call, then a text, sometimes an email. Seed 002: 11-14 % of calls connect."""
    rng = lead.sim.rng
    mode = None
    if rng.random() < p_two_way:
        r = rng.random()
        mode = "call" if r < 0.6 else ("text" if r < 0.88 else "email")
    if mode == "call":
        talk = int(min(max(rng.lognormvariate(math.log(200), 0.7), 35), 1_800))
        lead.call(staff, t, "outbound", "connected", talk, verified=True)
        return t + talk
    if rng.random() < 0.85:
        t = lead.call_attempt(staff, t)
    contact = None
    if mode == "text" or rng.random() < 0.6:
        lead.text(staff, t, "outbound", lead.fill(rng.choice(TEXT_FOLLOW), staff))
        if mode == "text":
            contact = t + int(rng.expovariate(1 / (40 * MINUTE))) + 30
            lead.text(staff, contact, "inbound", rng.choice(TEXT_REPLIES))
        t += rng.randint(40, 150)
    if mode == "email" or rng.random() < 0.2:
        lead.email(staff, t, "outbound", lead.fill(rng.choice(EMAIL_SUBJECTS), staff))
        if mode == "email":
            contact = t + int(rng.uniform(20 * MINUTE, 10 * HOUR))
            lead.email(staff, contact, "inbound", rng.choice(EMAIL_REPLIES))
    return contact


def follow_up_retail(lead: LeadState, staff: Person, t: int, p_two_way: float) -> int | None:
    """Seed 000: retail follow-up is mostly a note in the DMS ("left message"),
    sometimes a call from the desk phone or a text from a personal cell."""
    rng = lead.sim.rng
    two_way = rng.random() < p_two_way * 0.8
    r = rng.random()
    if r < 0.5:
        if two_way:
            lead.note(staff, t, rng.choice(["spoke w/ customer, still deciding",
                                            "talked to customer, coming back this weekend"]),
                      channel="call", outcome="connected")
            return t
        lead.note(staff, t, rng.choice(RETAIL_NOTES))
        return None
    if r < 0.72:
        if two_way:
            talk = int(rng.uniform(45, 600))
            lead.call(staff, t, "outbound", "connected", talk, verified=True)
            return t + talk
        lead.call_attempt(staff, t)
        return None
    if r < 0.9:
        channel, body = rng.choice(RETAIL_OUTSIDE)
        outcome = "voicemail" if channel == "call" else "sent"
        lead.note(staff, t, body, outside=True, channel=channel, outcome=outcome)
        return None
    lead.call(staff, t, "outbound", rng.choice(["voicemail", "no_answer"]), 0, verified=False)
    return None
