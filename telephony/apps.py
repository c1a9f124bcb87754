from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "telephony"

    def ready(self) -> None:
        # Connects the anymail inbound receiver, whichever URLconf loads first; registers the
        # deploy checks.
        from telephony import checks, mail  # noqa: F401
