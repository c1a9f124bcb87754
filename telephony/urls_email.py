"""Mounted at /telephony/email/ (namespace "telephony").

anymail/<esp>/inbound/ is anymail's inbound webhook (e.g. anymail/mailgun/inbound/,
anymail/postmark/inbound/) behind views_email.email_inbound, which refuses (403) any request
without the HTTP basic auth of ANYMAIL_WEBHOOK_SECRET: point the ESP's inbound route for
EMAIL_REPLY_DOMAIN at https://user:password@host/telephony/email/anymail/<esp>/inbound/.
anymail's tracking webhooks are not mounted (nothing here listens to them).
"""

from django.urls import path, re_path

from telephony import (
    mail,  # noqa: F401 - connects the anymail inbound signal receiver
    views_email,
)

urlpatterns = [
    path("leads/<int:pk>/compose/", views_email.email_compose, name="email-compose"),
    path("leads/<int:pk>/send/", views_email.email_send, name="email-send"),
    re_path(r"^anymail/(?P<esp>[a-z_]+)/inbound(?P<mime>_mime)?/$", views_email.email_inbound, name="email-inbound"),
]
