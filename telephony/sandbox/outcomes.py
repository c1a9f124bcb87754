"""The sandbox's simulated world: what each number does, by its last digit (OUTCOMES, shown on
the sandbox page; the store's own phones answer after two rings), and the pace the drivers
keep (real seconds waited; the durations they report are simulated)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q

from org.models import Staff, Store


@dataclass(frozen=True)
class Behaviour:
    digits: str
    call: str  # what the sandbox page says
    text: str
    answer: str  # "human", "machine" or "" (not answered)
    final_status: str  # the leg's CallStatus when it ends
    ring_seconds: int
    talk_seconds: int
    message_status: str = "delivered"
    message_error: str = ""


OUTCOMES: tuple[Behaviour, ...] = (
    Behaviour("0", "rings out, nobody answers (no-answer)", "delivered", "", "no-answer", 30, 0),
    Behaviour("1", "busy", "delivered", "", "busy", 2, 0),
    Behaviour(
        "2", "voicemail answers (AnsweredBy machine_start, or machine_end_beep with DetectMessageEnd); "
        "it waits a few seconds for a voicemail drop, else the call ends after 35 s",
        "delivered", "machine", "completed", 18, 35,
    ),
    Behaviour("3", "fails: the number cannot be reached (failed)", "undelivered, error 30003", "", "failed", 0, 0,
              "undelivered", "30003"),
    Behaviour("4", "a person answers and hangs up after 12 s (connected, not two-way)", "delivered", "human",
              "completed", 8, 12),
    Behaviour("5-9", "a person answers and talks 95 s (connected, two-way)", "delivered", "human", "completed", 8, 95),
)
STAFF_BEHAVIOUR = Behaviour("staff", "a person at the store answers after two rings", "delivered", "human",
                            "completed", 6, 95)
UNANSWERED_STAFF = Behaviour("staff", "nobody at the store picks up", "delivered", "", "no-answer", 30, 0)


def outcome_for(number: str) -> Behaviour:
    """The behaviour of a customer's number, by its last digit."""
    digits = re.sub(r"\D", "", number or "")
    last = digits[-1:] or "9"
    for behaviour in OUTCOMES:
        if last in behaviour.digits or (behaviour.digits == "5-9" and last in "56789"):
            return behaviour
    return OUTCOMES[-1]


def is_store_phone(number: str) -> bool:
    """A phone of the store's people (desk, cell), a store's main phone, a dealer number, or a
    browser client: someone at the store answers it."""
    from telephony.models import DealerNumber

    if number.startswith(("client:", "sip:")):
        return True
    return (
        Staff.objects.filter(Q(desk_phone=number) | Q(cell_phone=number)).exists()
        or Store.objects.filter(main_phone=number).exists()
        or DealerNumber.objects.filter(number=number).exists()
    )


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """Real seconds the sandbox waits; the durations it reports are simulated."""

    first_callback: float = 0.3  # Twilio's first callback comes a moment after the REST answer
    step: float = 0.15  # between two callbacks
    talk: float = 0.6  # a whole conversation, however long its simulated talk time
    voicemail_drop_window: float = 6.0  # a voicemail waits this long for a drop (ends early on one)
    poll: float = 0.05  # how often a wait looks for REST updates


PACE = Pace()

