from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "telephony"

    def ready(self) -> None:
        # Connects the anymail inbound receiver, whichever URLconf loads first.
        from telephony import mail  # noqa: F401
