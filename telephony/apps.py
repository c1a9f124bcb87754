from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "telephony"

    def ready(self) -> None:
        # Connects the anymail inbound receiver, whichever URLconf loads first; registers the
        # deploy checks; gives the lead timeline its calls.
        from django.db.models.signals import post_save

        from leads.selectors import timeline_annotator_register
        from org import alerts
        from telephony import calls, checks, mail, sms, timeline  # noqa: F401
        from telephony.models import Call

        timeline_annotator_register(timeline.calls_attach)
        alerts.sender_register(sms.staff_alert_send)
        # Every save of a call (its webhooks, the reconciler, a voicemail drop) tells its caller's
        # open pages: the live call panel and the Today queue.
        post_save.connect(calls.call_saved, sender=Call, dispatch_uid="telephony-call-live")
