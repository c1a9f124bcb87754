"""Mounted at /telephony/twilio/sms/ (namespace "telephony").

Twilio posts, signed:
  inbound/  the SMS webhook of every dealer number (MessageSid, From, To, Body, NumMedia, ...)
  status/   the status_callback given with each text we send (MessageSid, MessageStatus, ErrorCode)
"""

from django.urls import path

from telephony import views_sms

urlpatterns = [
    path("inbound/", views_sms.sms_inbound, name="sms-inbound"),
    path("status/", views_sms.sms_status, name="sms-status"),
    path("leads/<int:pk>/send/", views_sms.text_send, name="sms-send"),
]
