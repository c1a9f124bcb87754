"""Telephony routes. Twilio is configured with these, for every dealer number:
voice webhook  {PUBLIC_BASE_URL}/telephony/twilio/voice/inbound/   (POST)
SMS webhook    {PUBLIC_BASE_URL}/telephony/twilio/sms/inbound/     (POST)
Other callback URLs are passed to Twilio with each call or message.

sandbox/ (the telephony sandbox's pages and its recordings) exists only when the sandbox answers
Twilio's REST API: TELEPHONY_SANDBOX set, or the tests' TWILIO_HTTP_CLIENT. In production it is
not routed at all.
"""

from django.urls import include, path

from telephony.twilio import sandbox_answers_rest

app_name = "telephony"

urlpatterns = [
    path("twilio/voice/", include("telephony.urls_voice")),
    path("twilio/sms/", include("telephony.urls_sms")),
    path("email/", include("telephony.urls_email")),

]

if sandbox_answers_rest():
    urlpatterns.append(path("sandbox/", include("telephony.urls_sandbox")))
