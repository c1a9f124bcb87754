"""The sandbox's TwiML interpreter: `CallSimulation` plays one call out against the app's
webhooks, its first leg's status callbacks, then the TwiML the app answers (<Dial>, <Say>,
<Play>, <Pause>, <Redirect>, <Record>, <Gather>, <Hangup>, <Reject>), the legs a <Dial>
starts, machine detection, the conversation and the recordings, applying REST updates
(hang up, new TwiML) as they arrive."""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import time
import xml.etree.ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin

from defusedxml import ElementTree

from telephony import twilio as tw
from telephony.sandbox.outcomes import (
    STAFF_BEHAVIOUR,
    UNANSWERED_STAFF,
    Behaviour,
    Pace,
    is_store_phone,
    outcome_for,
)
from telephony.sandbox.recordings import recording_url
from telephony.sandbox.rest import call_resource
from telephony.sandbox.state import (
    API_VERSION,
    TERMINAL,
    _child_add,
    _rfc2822,
    _update_pop,
    new_sid,
    resource_put,
    resource_update,
)
from telephony.sandbox.webhooks import INBOUND_VOICE_PATH, Run, Webhooks

log = logging.getLogger("telephony.sandbox")

MAX_DOCUMENTS = 12  # TwiML documents one call may go through (a <Redirect> loop ends there)
STATUS_EVENT = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}
SIP_CODES = {"completed": "200", "busy": "486", "no-answer": "487", "failed": "404", "canceled": "487"}


@dataclass
class Leg:
    sid: str
    direction: str  # inbound | outbound-api | outbound-dial
    from_: str
    to: str
    behaviour: Behaviour
    parent_sid: str = ""
    status_callback: str = ""
    status_callback_method: str = "POST"
    events: frozenset[str] = frozenset({"completed"})
    machine_detection: str = ""  # Enable | DetectMessageEnd
    amd_callback: str = ""
    amd_callback_method: str = "POST"
    status: str = "queued"
    answered_by: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    sequence: int = 0

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL

    @property
    def answered_by_value(self) -> str:
        if self.behaviour.answer == "human":
            return "human"
        if self.behaviour.answer == "machine":
            return "machine_end_beep" if self.machine_detection == "DetectMessageEnd" else "machine_start"
        return ""


class Hangup(Exception):
    """The leg running the TwiML hung up (or was hung up by a REST update)."""


class Redirected(Exception):
    """A REST update gave the leg new TwiML: run it instead of the current document."""

    def __init__(self, update: dict) -> None:
        super().__init__("redirected")
        self.update = update


class CallSimulation:
    """One call and the legs its TwiML starts, played out against the app's webhooks."""

    def __init__(self, run: Run, pace: Pace, *, staff_answers: bool = True, talk_seconds: int | None = None):
        self.run = run
        self.hooks = Webhooks(run)
        self.pace = pace
        self.staff_answers = staff_answers
        self.talk_seconds = talk_seconds
        self.clock = 0.0  # simulated seconds since the call began
        self.legs: dict[str, Leg] = {}
        self.after_call: list[tuple[str, str, dict[str, str], str]] = []  # recording callbacks, sent last
        self.recordings: list[str] = []

    # -- people and time ----------------------------------------------------------------

    def behaviour(self, number: str) -> Behaviour:
        if not is_store_phone(number):
            return outcome_for(number)
        if not self.staff_answers:
            return UNANSWERED_STAFF
        if self.talk_seconds is not None:
            return dataclasses.replace(STAFF_BEHAVIOUR, talk_seconds=self.talk_seconds)
        return STAFF_BEHAVIOUR

    def wait(self, real: float, simulated: float = 0.0, watch: Iterable[str] = ()) -> tuple[str, dict] | None:
        """Sleep `real` seconds (simulating `simulated`), or less if a REST update arrives for
        one of the `watch`ed legs: then return (sid, update), the clock moved pro rata."""
        watch = list(watch)
        start = time.monotonic()
        deadline = start + real
        while True:
            if watch:
                update = _update_pop(watch)
                if update is not None:
                    elapsed = time.monotonic() - start
                    self.clock += simulated * (elapsed / real if real else 1)
                    return update
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(self.pace.poll, remaining) if watch else remaining)
        self.clock += simulated
        return None

    # -- webhooks -------------------------------------------------------------------------

    def leg_params(self, leg: Leg) -> dict[str, str]:
        params = {
            "AccountSid": tw.account_sid(), "ApiVersion": API_VERSION, "CallSid": leg.sid, "CallStatus": leg.status,
            "Called": leg.to, "Caller": leg.from_, "Direction": leg.direction, "From": leg.from_, "To": leg.to,
        }
        if leg.parent_sid:
            params["ParentCallSid"] = leg.parent_sid
        if leg.direction == "inbound":
            params.update(FromCountry="US", ToCountry="US")
        return params

    def set_status(self, leg: Leg, status: str) -> None:
        """Move a leg to `status`: its resource, and its status callback when subscribed."""
        leg.status = status
        changes: dict = {"status": status}
        if status == "in-progress":
            leg.answered_at = self.clock
            changes["start_time"] = _rfc2822()
        if status in TERMINAL:
            leg.ended_at = self.clock
            changes.update(end_time=_rfc2822(), duration=str(self.duration(leg)))
        if leg.answered_by:
            changes["answered_by"] = leg.answered_by
        resource_update(leg.sid, **changes)
        event = "completed" if status in TERMINAL else STATUS_EVENT.get(status)
        if not leg.status_callback or event not in leg.events:
            return
        leg.sequence += 1
        params = {**self.leg_params(leg), "CallbackSource": "call-progress-events",
                  "SequenceNumber": str(leg.sequence - 1), "Timestamp": _rfc2822()}
        if leg.answered_by:
            params["AnsweredBy"] = leg.answered_by
        if status in TERMINAL:
            seconds = self.duration(leg)
            params.update(CallDuration=str(seconds), Duration=str(math.ceil(seconds / 60)),
                          SipResponseCode=SIP_CODES[status])
        self.hooks.send(f"status:{leg.direction}", leg.status_callback, params, leg.status_callback_method)

    def duration(self, leg: Leg) -> int:
        if leg.answered_at is None:
            return 0
        end = leg.ended_at if leg.ended_at is not None else self.clock
        return max(0, round(end - leg.answered_at))

    def twiml(self, leg: Leg, url: str, method: str = "POST", extra: dict[str, str] | None = None) -> str | None:
        answer = self.hooks.send(f"twiml:{leg.direction}", url, {**self.leg_params(leg), **(extra or {})}, method)
        if answer is None or not answer.ok:
            return None
        return answer.text

    # -- the first leg ----------------------------------------------------------------------

    def start_outbound(self, sid: str, form: dict) -> None:
        """A call placed with the REST API (click-to-call: the agent's phone first)."""
        to, from_ = str(form["To"]), str(form["From"])
        events = form.get("StatusCallbackEvent") or []
        events = events.split() if isinstance(events, str) else list(events)
        leg = Leg(
            sid=sid, direction="outbound-api", from_=from_, to=to, behaviour=self.behaviour(to),
            status_callback=str(form.get("StatusCallback", "")),
            status_callback_method=str(form.get("StatusCallbackMethod", "POST")).upper(),
            events=frozenset(events or ["completed"]),
            machine_detection=str(form.get("MachineDetection", "")),
            amd_callback=str(form.get("AsyncAmdStatusCallback", "")) if form.get("AsyncAmd") == "true" else "",
            amd_callback_method=str(form.get("AsyncAmdStatusCallbackMethod", "POST")).upper(),
        )
        self.legs[sid] = leg
        if self.wait(self.pace.first_callback, watch=[sid]) is not None:  # hung up before it started
            self.set_status(leg, "canceled")
            return
        self.set_status(leg, "initiated")
        if not self.ring(leg, timeout=int(form.get("Timeout") or 60)):
            return
        extra = {}
        if leg.machine_detection:
            leg.answered_by = leg.answered_by_value
            if leg.amd_callback:
                self.amd_report(leg)
            else:
                extra["AnsweredBy"] = leg.answered_by
        if form.get("Twiml"):
            document_url, document = str(form.get("Url") or tw.public_url("/")), str(form["Twiml"])
        else:
            document_url = str(form["Url"])
            document = self.twiml(leg, document_url, str(form.get("Method", "POST")).upper(), extra)
        self.execute(leg, document_url, document)
        self.finish()

    def start_inbound(self, sid: str, from_: str, to: str, status_callback: str) -> None:
        """A customer rings a dealer number: Twilio asks the number's voice webhook."""
        leg = Leg(sid=sid, direction="inbound", from_=from_, to=to, behaviour=STAFF_BEHAVIOUR,
                  status_callback=status_callback, status="ringing")
        self.legs[sid] = leg
        resource_put(sid, {**call_resource(sid, to=to, from_=from_, direction="inbound"), "status": "ringing"})
        url = tw.public_url(INBOUND_VOICE_PATH)
        document = self.twiml(leg, url)
        # Twilio answers an inbound call when it starts executing TwiML (other than <Reject>).
        if document is not None and not re.search(r"<Response>\s*<Reject", document):
            self.set_status(leg, "in-progress")
        self.execute(leg, url, document)
        self.finish()

    def ring(self, leg: Leg, timeout: int) -> bool:
        """initiated -> ringing -> answered, or the leg's failure. True when answered."""
        behaviour = leg.behaviour
        if behaviour.final_status == "failed":
            self.wait(self.pace.step, 1)
            self.set_status(leg, "failed")
            return False
        update = self.wait(self.pace.step, 1, watch=[leg.sid])
        if update is None and behaviour.final_status == "busy":
            self.set_status(leg, "busy")
            return False
        if update is None:
            self.set_status(leg, "ringing")
            ring = min(behaviour.ring_seconds, timeout) if behaviour.answer else timeout
            update = self.wait(self.pace.step, ring, watch=[leg.sid])
        if update is not None:  # hung up (or redirected) while ringing: canceled
            self.set_status(leg, "canceled")
            return False
        if not behaviour.answer or behaviour.ring_seconds > timeout:
            self.set_status(leg, "no-answer")
            return False
        self.set_status(leg, "in-progress")
        return True

    def amd_report(self, leg: Leg) -> None:
        params = {"AccountSid": tw.account_sid(), "CallSid": leg.sid, "AnsweredBy": leg.answered_by,
                  "MachineDetectionDuration": "3400" if leg.behaviour.answer == "machine" else "1800"}
        self.hooks.send("amd", leg.amd_callback, params, leg.amd_callback_method)

    def finish(self) -> None:
        for kind, url, params, method in self.after_call:
            self.wait(self.pace.step)
            self.hooks.send(kind, url, params, method)

    # -- TwiML ------------------------------------------------------------------------------

    def execute(self, leg: Leg, url: str, document: str | None) -> None:
        """Run TwiML on a leg until it hangs up; then its "completed" callback."""
        for _ in range(MAX_DOCUMENTS):
            if document is None:
                break  # the app did not answer: Twilio says "an application error has occurred"
            try:
                next_document = self.run_document(leg, url, document)
            except Redirected as redirect:
                next_document = self.redirect(leg, url, redirect.update)
            except Hangup:
                break
            if next_document is None:
                break
            url, document = next_document
        if not leg.ended:
            self.set_status(leg, "completed")

    def redirect(self, leg: Leg, url: str, update: dict) -> tuple[str, str | None] | None:
        if update.get("Status"):
            return None
        if update.get("Twiml"):
            return url, update["Twiml"]
        target = str(update["Url"])
        return target, self.twiml(leg, target, str(update.get("Method", "POST")).upper())

    def run_document(self, leg: Leg, url: str, document: str) -> tuple[str, str | None] | None:
        """Execute one TwiML document; returns the next (url, document) or None at its end."""
        try:
            root = ElementTree.fromstring(document)
        except ElementTree.ParseError:
            log.warning("sandbox: the TwiML from %s does not parse (Twilio error 12100)", url)
            return None
        if root.tag != "Response":
            log.warning("sandbox: the TwiML from %s is not a <Response> (Twilio error 12100)", url)
            return None
        for verb in root:
            attributes = verb.attrib
            if verb.tag in ("Say", "Play", "Pause"):
                self.speak(leg, verb)
            elif verb.tag == "Hangup":
                raise Hangup
            elif verb.tag == "Reject":
                self.set_status(leg, "busy" if attributes.get("reason") == "busy" else "no-answer")
                raise Hangup
            elif verb.tag == "Redirect":
                target = urljoin(url, (verb.text or "").strip())
                return target, self.twiml(leg, target, attributes.get("method", "POST").upper())
            elif verb.tag == "Dial":
                next_document = self.dial(leg, verb, url)
                if next_document is not None:
                    return next_document
            elif verb.tag == "Record":
                return self.record(leg, verb, url)
            elif verb.tag == "Gather":
                for child in verb:
                    if child.tag in ("Say", "Play", "Pause"):
                        self.speak(leg, child)
                self.wait(self.pace.step, int(attributes.get("timeout", 5)), watch=[leg.sid])
                if attributes.get("actionOnEmptyResult") == "true" and attributes.get("action"):
                    target = urljoin(url, attributes["action"])
                    return target, self.twiml(leg, target, attributes.get("method", "POST").upper(), {"Digits": ""})
            else:
                log.info("sandbox: <%s> is not simulated; skipped", verb.tag)
        return None

    def speak(self, leg: Leg, verb) -> None:
        if verb.tag == "Say":
            seconds = max(1, round(len((verb.text or "").split()) / 2.5))
        elif verb.tag == "Play":
            seconds = 5 * max(1, int(verb.attrib.get("loop", 1) or 1))
        else:
            seconds = int(verb.attrib.get("length", 1))
        self.check(leg, self.wait(self.pace.step, seconds, watch=[leg.sid]))

    def check(self, leg: Leg, update: tuple[str, dict] | None) -> None:
        """Apply a REST update that arrived for this leg while it was busy."""
        if update is None:
            return
        _, change = update
        if change.get("Status"):
            raise Hangup
        raise Redirected(change)

    # -- <Dial> -----------------------------------------------------------------------------

    def dial(self, parent: Leg, verb, url: str) -> tuple[str, str | None] | None:
        attributes = verb.attrib
        timeout = int(attributes.get("timeout", 30))
        caller_id = attributes.get("callerId") or parent.from_
        record = attributes.get("record", "do-not-record")
        recording = record not in ("do-not-record", "false", "")
        legs: list[tuple[Leg, str]] = []
        targets = [child for child in verb if child.tag in ("Number", "Client", "Sip")]
        if not targets and (verb.text or "").strip():
            bare = xml.etree.ElementTree.Element("Number")  # <Dial>+1312...</Dial>
            bare.text = (verb.text or "").strip()
            targets = [bare]
        for target in targets:
            number = (target.text or "").strip()
            if target.tag == "Client":
                number = number if number.startswith("client:") else f"client:{number}"
            ta = target.attrib
            events = ta.get("statusCallbackEvent", "completed").replace(",", " ").split()
            leg = Leg(
                sid=new_sid("CA"), direction="outbound-dial", from_=caller_id, to=number,
                behaviour=self.behaviour(number), parent_sid=parent.sid,
                status_callback=urljoin(url, ta["statusCallback"]) if ta.get("statusCallback") else "",
                status_callback_method=ta.get("statusCallbackMethod", "POST").upper(), events=frozenset(events),
                machine_detection=ta.get("machineDetection", ""),
                amd_callback=urljoin(url, ta["amdStatusCallback"]) if ta.get("amdStatusCallback") else "",
                amd_callback_method=ta.get("amdStatusCallbackMethod", "POST").upper(),
            )
            self.legs[leg.sid] = leg
            resource_put(leg.sid, call_resource(leg.sid, to=number, from_=caller_id, direction="outbound-dial",
                                                parent_sid=parent.sid))
            _child_add(parent.sid, leg.sid)
            legs.append((leg, urljoin(url, ta["url"]) if ta.get("url") else ""))
        if not legs:
            log.info("sandbox: <Dial> without a <Number>/<Client> (a conference or queue) is not simulated")
            return None

        # All targets ring together (busy and failed lines do not ring); the first to answer is
        # bridged and the others are hung up (canceled).
        for leg, _ in legs:
            self.set_status(leg, "initiated")
        self.wait(self.pace.step, 1)
        for leg, _ in legs:
            if leg.behaviour.final_status in ("failed", "busy"):
                self.set_status(leg, leg.behaviour.final_status)
        ringing = [(leg, whisper) for leg, whisper in legs if not leg.ended]
        for leg, _ in ringing:
            self.set_status(leg, "ringing")
        answering = [(leg, w) for leg, w in ringing if leg.behaviour.answer and leg.behaviour.ring_seconds <= timeout]
        winner = min(answering, key=lambda pair: pair[0].behaviour.ring_seconds, default=None)
        ring = winner[0].behaviour.ring_seconds if winner else (timeout if ringing else 0)
        update = self.wait(self.pace.step, ring, watch=[parent.sid])
        if update is not None:  # the caller hung up (or was taken elsewhere) while it rang
            for leg, _ in ringing:
                self.set_status(leg, "canceled")
            return self.leave_dial(parent, verb, url, update[1], "canceled", legs[0][0], 0, None)
        for leg, _ in ringing:
            if winner is None:
                self.set_status(leg, "no-answer")
            elif leg is not winner[0]:
                self.set_status(leg, "canceled")
        if winner is None:
            first = legs[0][0]
            return self.dial_action(parent, verb, url, first.status, first.sid, 0, bridged=False, recording=None)

        child, whisper = winner
        if child.machine_detection and not child.amd_callback:
            child.answered_by = child.answered_by_value  # synchronous detection: known at answer
        self.set_status(child, "in-progress")
        if whisper and self.twiml(child, whisper) is None:
            log.info("sandbox: the whisper TwiML at %s did not answer", whisper)
        recording_sid = new_sid("RE") if recording else None
        recording_started = self.clock
        parent_change = self.conversation(parent, child)
        if not child.ended:
            self.set_status(child, "completed")
        talk = self.duration(child)
        recording_params = self.add_recording(parent, verb, url, recording_sid, recording_started)
        if parent_change is not None:
            return self.leave_dial(parent, verb, url, parent_change, "completed", child, talk, recording_params)
        return self.dial_action(parent, verb, url, "completed", child.sid, talk, bridged=True,
                                recording=recording_params)

    def leave_dial(self, parent: Leg, verb, url: str, change: dict, dial_status: str, child: Leg, talk: int,
                   recording: dict | None) -> tuple[str, str | None] | None:
        """A REST update on the parent ended the <Dial>. Hung up: the action is still requested
        (CallStatus completed) and what it answers has nobody to play to. New TwiML: the parent
        goes on with it and the action is not requested."""
        if change.get("Status"):
            parent.status = "completed"
            self.dial_action(parent, verb, url, dial_status, child.sid, talk, bridged=talk > 0, recording=recording)
            parent.status = "in-progress"
            raise Hangup
        return self.redirect(parent, url, change)

    def conversation(self, parent: Leg, child: Leg) -> dict | None:
        """The bridged call. It ends when the customer (or their voicemail) hangs up, or on a
        REST update: on the customer's leg (hang up, or new TwiML it plays before hanging up: a
        voicemail drop), or on the parent's (returned: hang up, or new TwiML that takes the
        parent out of the <Dial>)."""
        watch = [child.sid, parent.sid]
        talk = child.behaviour.talk_seconds
        if child.behaviour.answer == "machine":
            greeting = 12
            update = self.wait(self.pace.step, greeting, watch)
            if update is None:
                self.amd_verdict(child)
                update = self.wait(self.pace.voicemail_drop_window, talk - greeting, watch)
        else:
            self.amd_verdict(child)
            update = self.wait(self.pace.talk, talk, watch)
        if update is None:
            return None
        sid, change = update
        if sid == parent.sid:
            return change
        if not change.get("Status"):
            target = self.redirect(child, tw.public_url("/"), change)
            try:
                if target is not None and target[1] is not None:
                    self.run_document(child, *target)
            except (Hangup, Redirected):
                pass
        self.set_status(child, "completed")
        return None

    def amd_verdict(self, leg: Leg) -> None:
        """Asynchronous machine detection: the verdict goes to amdStatusCallback."""
        if leg.machine_detection and leg.amd_callback:
            leg.answered_by = leg.answered_by_value
            resource_update(leg.sid, answered_by=leg.answered_by)
            self.amd_report(leg)

    def add_recording(self, parent: Leg, verb, url: str, recording_sid: str | None, started: float) -> dict | None:
        """A <Dial record> recording: its resource now, its status callback after the call."""
        if recording_sid is None:
            return None
        attributes = verb.attrib
        seconds = max(1, round(self.clock - started))
        dual = attributes.get("record", "").endswith("-dual")
        recording = {"RecordingSid": recording_sid, "RecordingUrl": recording_url(recording_sid),
                     "RecordingDuration": str(seconds)}
        self.store_recording(recording_sid, parent.sid, seconds, channels=2 if dual else 1, source="DialVerb")
        callback = attributes.get("recordingStatusCallback")
        events = attributes.get("recordingStatusCallbackEvent", "completed").replace(",", " ").split()
        if callback and "completed" in events:
            params = {
                "AccountSid": tw.account_sid(), "CallSid": parent.sid, **recording, "RecordingStatus": "completed",
                "RecordingChannels": "2" if dual else "1", "RecordingStartTime": _rfc2822(),
                "RecordingSource": "DialVerb", "RecordingTrack": "both", "ErrorCode": "0",
            }
            self.after_call.append(("recording", urljoin(url, callback), params,
                                    attributes.get("recordingStatusCallbackMethod", "POST").upper()))
        return recording

    def store_recording(self, sid: str, call_sid: str, seconds: int, *, channels: int, source: str) -> None:
        now = _rfc2822()
        uri = f"/{API_VERSION}/Accounts/{tw.account_sid()}/Recordings/{sid}"
        resource_put(sid, {
            "account_sid": tw.account_sid(), "api_version": API_VERSION, "call_sid": call_sid,
            "conference_sid": None, "channels": channels, "date_created": now, "date_updated": now,
            "start_time": now, "duration": str(seconds), "sid": sid, "price": None, "price_unit": "USD",
            "status": "completed", "source": source, "error_code": None, "encryption_details": None,
            "track": "both", "uri": f"{uri}.json", "media_url": recording_url(sid),
            "subresource_uris": {"transcriptions": f"{uri}/Transcriptions.json"},
        })
        self.recordings.append(sid)

    def dial_action(self, parent: Leg, verb, url: str, dial_status: str, dial_sid: str, seconds: int, *,
                    bridged: bool, recording: dict | None) -> tuple[str, str | None] | None:
        action = verb.attrib.get("action")
        if not action:
            return None  # no action: the document goes on after the <Dial>
        target = urljoin(url, action)
        extra = {"DialCallStatus": dial_status, "DialBridged": "true" if bridged else "false"}
        if dial_sid:
            extra.update(DialCallSid=dial_sid, DialCallDuration=str(seconds))
        if recording:
            extra.update(recording)
        self.wait(self.pace.step)
        document = self.twiml(parent, target, verb.attrib.get("method", "POST").upper(), extra)
        # With an action, whatever follows the <Dial> is unreachable: the action's TwiML goes on
        # (if the action fails, the call ends, as Twilio's "application error" does).
        return target, document

    # -- <Record> (a caller leaving a voicemail) ------------------------------------------------

    def record(self, leg: Leg, verb, url: str) -> None:
        attributes = verb.attrib
        seconds = min(20, int(attributes.get("maxLength", 3600)))
        self.check(leg, self.wait(self.pace.talk, seconds, watch=[leg.sid]))
        sid = new_sid("RE")
        self.store_recording(sid, leg.sid, seconds, channels=1, source="RecordVerb")
        recording = {"RecordingSid": sid, "RecordingUrl": recording_url(sid), "RecordingDuration": str(seconds)}
        callback = attributes.get("recordingStatusCallback")
        if callback:
            self.after_call.append(("recording", urljoin(url, callback), {
                "AccountSid": tw.account_sid(), "CallSid": leg.sid, **recording, "RecordingStatus": "completed",
                "RecordingChannels": "1", "RecordingStartTime": _rfc2822(), "RecordingSource": "RecordVerb",
                "RecordingTrack": "inbound", "ErrorCode": "0",
            }, attributes.get("recordingStatusCallbackMethod", "POST").upper()))
        # The caller hangs up after the message: the action is asked, its TwiML has nobody to play to.
        action = attributes.get("action")
        target = urljoin(url, action) if action else url
        params = {**self.leg_params(leg), "CallStatus": "completed", **recording, "Digits": "hangup"}
        self.hooks.send(f"twiml:{leg.direction}", target, params, attributes.get("method", "POST").upper())
        raise Hangup
