"""Mounted at /telephony/sandbox/ (namespace "telephony"). Only routed when the sandbox answers
Twilio's REST API (telephony.urls); the pages answer 404 unless TELEPHONY_SANDBOX is on.

  ''                      the sandbox page: play the customer (staff of a store)
  text/                   POST: a customer texts a dealer number
  call/                   POST: a customer calls a dealer number
  recordings/RE...[.wav|.mp3]   the generated audio of a sandbox recording (Twilio's RecordingUrl)
"""

from django.urls import path, re_path

from telephony import views_sandbox

urlpatterns = [
    path("", views_sandbox.sandbox_page, name="sandbox"),
    path("text/", views_sandbox.sandbox_text, name="sandbox-text"),
    path("call/", views_sandbox.sandbox_call, name="sandbox-call"),
    re_path(
        r"^recordings/(?P<recording_sid>RE[0-9a-f]{32})(?:\.(?P<extension>wav|mp3))?$",
        views_sandbox.sandbox_recording,
        name="sandbox-recording",
    ),
]
