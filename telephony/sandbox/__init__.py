"""The telephony sandbox: Twilio without an account, only when explicitly enabled
(TELEPHONY_SANDBOX; `./dev start` sets it). What it produces is recorded as evidence level
"simulated", never "verified". The tests also use `SandboxHttpClient` alone, as
TWILIO_HTTP_CLIENT under real-looking credentials: Twilio faked at the HTTP boundary.

Two halves:

1. `SandboxHttpClient`, the HTTP client `telephony.twilio.client()` hands to the real
   `twilio.rest.Client`. It answers the REST API the app uses like Twilio does (same JSON
   shapes, new sids "CA"/"SM" + 32 hex, status "queued", Twilio's error codes):

       POST   /2010-04-01/Accounts/{AC}/Calls.json             place a call (To, From, Url or
              Twiml, StatusCallback, StatusCallbackEvent, MachineDetection, AsyncAmd...)
       GET    .../Calls/{CA}.json                              the call as it is now
       GET    .../Calls.json?ParentCallSid={CA}                 its child legs (<Dial>ed), as they are now
       POST   .../Calls/{CA}.json                              update: Twiml= or Url= (e.g. a
              voicemail drop on the customer's leg), Status=completed|canceled
       POST   .../Messages.json                                send a text
       GET    .../Messages/{SM}.json
       GET    .../Recordings/{RE}.json, DELETE .../Recordings/{RE}.json

   Nothing is dialed or texted. Once the surrounding transaction commits, a Celery task plays
   the call or the text out by calling the app's real webhooks over HTTP at PUBLIC_BASE_URL,
   form-encoded and signed exactly like Twilio (X-Twilio-Signature over the full URL and every
   parameter, with `telephony.twilio.auth_token()`):

   A call: the status callbacks of the first leg (initiated, ringing, in-progress: the events
   asked for in StatusCallbackEvent), the TwiML at Url (signed POST), which is then executed:
   <Dial> (action, method, timeout, callerId, record, recordingStatusCallback...) of
   <Number>s (statusCallback, statusCallbackEvent, machineDetection, amdStatusCallback, url)
   or <Client>s, <Say>, <Play>, <Pause>, <Redirect>, <Record>, <Gather> (no key is ever
   pressed), <Hangup>, <Reject>. A <Dial> starts child legs (their own CallSid,
   ParentCallSid, Direction outbound-dial) with their own status callbacks, the answering-
   machine verdict, the conversation, then the <Dial action> request (DialCallSid,
   DialCallStatus, DialCallDuration, DialBridged, RecordingUrl...) whose TwiML continues the
   call, the first leg's "completed", and last the recording callback. The RecordingUrl is the
   sandbox's own /telephony/sandbox/recordings/RE... (".mp3" or ".wav" appended also work),
   which serves a short generated WAV (a few seconds of tones; every format asked for gets WAV).
   A REST update during the call (Status=completed, or new TwiML on either leg: a voicemail
   drop on the customer's leg) takes effect at once, as on Twilio.

   A text: its status callbacks "sent", then "delivered" (or "undelivered", ErrorCode 30003).
   Twilio sends no callback for the initial queued/accepted.

2. "Play the customer": `customer_texts()` posts an inbound text from a customer's number to
   a dealer number (the number's SMS webhook, /telephony/twilio/sms/inbound/), and
   `customer_calls()` rings a dealer number (its voice webhook, /telephony/twilio/voice/inbound/)
   and plays out whatever the TwiML answer says (whom it forwards to, the voicemail it
   records). Used by the page /telephony/sandbox/ and `manage.py sandbox_customer`.

What a number does is decided by its last digit (OUTCOMES in outcomes.py, shown on the
sandbox page). Staff phones (desk or cell), dealer numbers and client: identities are people at
the store: they answer after two rings (for an inbound call, unless told that nobody picks up).

    last digit  call                                              text
    0           rings out: no-answer                              delivered
    1           busy                                              delivered
    2           voicemail answers (AnsweredBy machine_start, or   delivered
                machine_end_beep with DetectMessageEnd); waits a
                few seconds for a voicemail drop, else ends after 35 s
    3           failed (the number cannot be reached)             undelivered (30003)
    4           a person answers and hangs up after 12 s          delivered
                (connected, under the 30 s two-way minimum)
    5-9         a person answers and talks 95 s                   delivered

Durations are simulated (CallDuration 95 arrives about a second after "answered"): the whole
click-to-call sequence takes about two seconds (PACE), so a demo feels live. Twilio's own
STOP handling is imitated too: after a customer texts STOP (or UNSUBSCRIBE, ...) to a dealer
number, sending from that number answers error 21610 until they text START.

The modules:

    rest.py        SandboxHttpClient and the REST answers (half 1, the API)
    twiml.py       the TwiML interpreter: CallSimulation plays a call out, leg by leg
    webhooks.py    the signed Twilio-format requests to the app, recorded in a Run
    drivers.py     what the sandbox's Celery tasks run: a call or text the app placed, and
                   "play the customer" (half 2)
    recordings.py  the RecordingUrl and its generated audio
    outcomes.py    what each number does (OUTCOMES) and the pace (PACE)
    state.py       the state shared through the cache, and the hand-off to a worker (dispatch)

`telephony.sandbox.SandboxHttpClient` stays importable from here: TWILIO_HTTP_CLIENT names it
by that dotted path (dealercrm/settings.py, tests/conftest.py, telephony.twilio).
"""

from telephony.sandbox.rest import SandboxHttpClient

__all__ = ["SandboxHttpClient"]
