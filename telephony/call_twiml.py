"""Calls through dealer numbers: the TwiML documents the app answers Twilio with, and the
callback URLs they give it. Built from the values telephony.calls hands over once it has
locked, read or written the Call (no query, no write here).

Click-to-call: the agent's leg <Dial>s the customer from the dealer number, recording both
channels, with answering-machine detection on the customer's leg (`customer_dial`). Inbound:
the caller is forwarded, recorded, to the desk and cell of the person on shift or to the
store's main phone (`forward_dial`). Both <Dial>s end at the dial-complete callback, whose
answer (`after_dial`) tells whoever is still on the line what happened.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from twilio.twiml.voice_response import VoiceResponse

from telephony import twilio as tw
from telephony.call_verdicts import TwilioStatus

CUSTOMER_RING_SECONDS = 30  # long enough for a cell to ring through to its voicemail
# Shorter than most cells take to roll to voicemail, so a forwarded call is not "answered"
# by the agent's voicemail greeting.
INBOUND_RING_SECONDS = 20


def callback_url(name: str, **query: str) -> str:
    """The public URL of one of our voice webhooks (telephony/urls_voice.py), with its query."""
    path = reverse(f"telephony:{name}")
    return tw.public_url(f"{path}?{urlencode(query)}" if query else path)


def _recorded_dial(response, *, timeout: int, caller_id: str | None = None):
    """A <Dial> that records both sides from the answer, reports the recording and ends at our
    dial-complete callback: the same for click-to-call and inbound calls."""
    options = {"caller_id": caller_id} if caller_id else {}
    return response.dial(
        record="record-from-answer-dual",
        action=callback_url("voice_dial_complete"),
        method="POST",
        recording_status_callback=callback_url("voice_recording"),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
        timeout=timeout,
        **options,
    )


def say_and_hang_up(text: str | None = None) -> VoiceResponse:
    """Say `text` (if given), then hang up."""
    response = VoiceResponse()
    if text is not None:
        response.say(text)
    response.hangup()
    return response


def customer_dial(*, call_sid: str, customer_number: str, caller_id: str) -> VoiceResponse:
    """What the agent's leg does once they answer: dial the customer from the dealer number,
    recording both channels, with machine detection on the customer's leg."""
    response = VoiceResponse()
    dial = _recorded_dial(response, timeout=CUSTOMER_RING_SECONDS, caller_id=caller_id)
    dial.number(
        customer_number,
        status_callback=callback_url("voice_leg_status", parent=call_sid),
        status_callback_event="initiated ringing answered completed",
        status_callback_method="POST",
        machine_detection="Enable",
        amd_status_callback=callback_url("voice_amd", parent=call_sid),
        amd_status_callback_method="POST",
    )
    return response


def forward_dial(*, call_sid: str, forward_to: list[str]) -> VoiceResponse:
    """An inbound call rings the numbers in `forward_to` together; with none, the caller is told
    nobody can take the call."""
    if not forward_to:
        return say_and_hang_up("Sorry, nobody can take your call right now. We will call you back shortly. Thank you!")
    response = VoiceResponse()
    dial = _recorded_dial(response, timeout=INBOUND_RING_SECONDS)
    for phone in forward_to:
        dial.number(
            phone,
            status_callback=callback_url("voice_leg_status", parent=call_sid),
            status_callback_event="initiated ringing answered completed",
            status_callback_method="POST",
        )
    return response


def after_dial(*, outbound: bool, status: str, voicemail_dropped: bool) -> VoiceResponse:
    """The answer to the dial-complete callback: what whoever is still on the parent leg hears."""
    response = VoiceResponse()
    if outbound:
        # The agent is still on the line: say what happened (nothing after a real conversation).
        if voicemail_dropped:
            response.say("Your voicemail is playing to the customer. Goodbye.")
        elif status in (TwilioStatus.NO_ANSWER, TwilioStatus.CANCELED):
            response.say("The customer did not answer.")
        elif status == TwilioStatus.BUSY:
            response.say("The customer's line is busy.")
        elif status == TwilioStatus.FAILED:
            response.say("The call to the customer could not be completed.")
    elif status != TwilioStatus.COMPLETED:
        response.say("Sorry we missed your call. We will call you back shortly. Thank you!")
    response.hangup()
    return response
