from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "distribution"

    def ready(self) -> None:
        from distribution import services, signals  # noqa: F401
        from leads import notices, ownership

        # Leads' pages and API change owners through distribution's one writer (leads.ownership).
        ownership.writer_register(services)
        # Coverage tells people about deals and disputes on the bell through leads.notices.
        notices.sender_register(services.notify)
