from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "telephony"

    def ready(self) -> None:
        # Connects the anymail inbound receiver, whichever URLconf loads first; registers the
        # deploy checks; gives the lead timeline its calls.
        from leads.selectors import timeline_annotator_register
        from org import alerts
        from telephony import checks, mail, sms, timeline  # noqa: F401

        timeline_annotator_register(timeline.calls_attach)
        alerts.sender_register(sms.staff_alert_send)
