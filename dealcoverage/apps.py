from django.apps import AppConfig


class CoverageConfig(AppConfig):
    # The package is `dealcoverage` so that it does not shadow coverage.py (pytest --cov); the
    # app label, and with it the tables, migrations and URL names, stays "coverage".
    name = "dealcoverage"
    label = "coverage"

    def ready(self) -> None:
        from dealcoverage import live, models, scoping, services
        from leads import coverage_port, merge
        from org.scoping import scope_register

        scope_register(models.CoveragePolicy, scoping.coverage_policies_for)
        scope_register(models.Deal, scoping.deals_for)
        scope_register(models.Dispute, scoping.disputes_for)
        # Distribution asks through leads' port; coverage never imports distribution.
        coverage_port.judge_register(live.owner_coverage)
        merge.customer_merged.connect(services.deals_follow_merge, dispatch_uid="coverage-deals-merge")
        merge.customer_split.connect(services.deals_follow_split, dispatch_uid="coverage-deals-split")
