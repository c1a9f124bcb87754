from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "distribution"

    def ready(self) -> None:
        from distribution import services, signals  # noqa: F401
        from leads import ownership

        # Leads' pages and API change owners through distribution's one writer (leads.ownership).
        ownership.writer_register(services)
