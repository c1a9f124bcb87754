"""Voice routes, mounted at /telephony/twilio/voice/ (names in the `telephony` namespace).

Twilio webhooks (POST, X-Twilio-Signature over PUBLIC_BASE_URL + path):
  inbound/        voice_inbound        each dealer number's voice URL (configured in Twilio)
  outbound/       voice_outbound       click-to-call's `url`: TwiML dialing the customer
  status/         voice_status         the parent leg's status callback
  leg-status/     voice_leg_status     a <Dial>ed <Number>'s status callback (?parent=CA...)
  amd/            voice_amd            machine detection on the customer's leg (?parent=CA...)
  dial-complete/  voice_dial_complete  <Dial action>
  recording/      voice_recording      <Dial recordingStatusCallback>

The lead page (logged in):
  leads/<lead_pk>/call/         call_start            POST: click-to-call
  leads/<lead_pk>/call/panel/   call_panel            GET: the call area (htmx; polled while live)
  calls/<pk>/voicemail-drop/    call_voicemail_drop   POST: "Leave our voicemail"
  calls/<pk>/recording/         call_recording        GET: the recording, permission-checked
"""

from django.urls import path

from telephony import views_voice as views

urlpatterns = [
    path("inbound/", views.voice_inbound, name="voice_inbound"),
    path("outbound/", views.voice_outbound, name="voice_outbound"),
    path("status/", views.voice_status, name="voice_status"),
    path("leg-status/", views.voice_leg_status, name="voice_leg_status"),
    path("amd/", views.voice_amd, name="voice_amd"),
    path("dial-complete/", views.voice_dial_complete, name="voice_dial_complete"),
    path("recording/", views.voice_recording, name="voice_recording"),
    path("leads/<int:lead_pk>/call/", views.call_start, name="call_start"),
    path("leads/<int:lead_pk>/call/panel/", views.call_panel, name="call_panel"),
    path("calls/<int:pk>/voicemail-drop/", views.call_voicemail_drop, name="call_voicemail_drop"),
    path("calls/<int:pk>/recording/", views.call_recording, name="call_recording"),
]
