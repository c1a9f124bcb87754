"""Mounted at /telephony/email/ (namespace "telephony").

anymail/<esp>/inbound/ is anymail's inbound webhook (e.g. anymail/mailgun/inbound/,
anymail/postmark/inbound/): point the ESP's inbound route for EMAIL_REPLY_DOMAIN there.
"""

from django.urls import include, path

from telephony import (
    mail,  # noqa: F401 - connects the anymail inbound signal receiver
    views_email,
)

urlpatterns = [
    path("leads/<int:pk>/compose/", views_email.email_compose, name="email-compose"),
    path("leads/<int:pk>/send/", views_email.email_send, name="email-send"),
    path("anymail/", include("anymail.urls")),
]
