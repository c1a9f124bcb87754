"""Telephony routes. Twilio is configured with these, for every dealer number:
voice webhook  {PUBLIC_BASE_URL}/telephony/twilio/voice/inbound/   (POST)
SMS webhook    {PUBLIC_BASE_URL}/telephony/twilio/sms/inbound/     (POST)
Other callback URLs are passed to Twilio with each call or message.
"""

from django.urls import include, path

app_name = "telephony"

urlpatterns = [
    path("twilio/voice/", include("telephony.urls_voice")),
    path("twilio/sms/", include("telephony.urls_sms")),
    path("email/", include("telephony.urls_email")),
    path("sandbox/", include("telephony.urls_sandbox")),
]
