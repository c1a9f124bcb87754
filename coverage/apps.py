from django.apps import AppConfig


class CoverageConfig(AppConfig):
    name = "coverage"

    def ready(self) -> None:
        from coverage import live
        from leads import coverage_port

        # Distribution asks through leads' port; coverage never imports distribution.
        coverage_port.judge_register(live.owner_coverage)
