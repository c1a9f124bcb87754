from django.apps import AppConfig


class LiveConfig(AppConfig):
    """Server push: the event log (LiveEvent), its publisher and the per-process stream hub."""

    name = "live"
    default_auto_field = "django.db.models.BigAutoField"
