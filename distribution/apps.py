from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "distribution"

    def ready(self) -> None:
        from distribution import lead_panel, models, scoping, services, signals  # noqa: F401
        from leads import lead_page, notices, ownership
        from leads import scoping as lead_scoping
        from live import events as live
        from org.scoping import scope_register

        lead_page.panel_register(lead_panel.lead_panel)
        scope_register(models.RoutingRule, scoping.routing_rules_for)
        scope_register(models.Notification, scoping.notifications_for)
        # Which claim-pool leads a salesperson sees is the pools they are in: distribution's rule.
        lead_scoping.claim_pool_register(visible=scoping.claim_pool_q, pooled=scoping.claim_pool_leads_q)

        # Leads' pages and API change owners through distribution's one writer (leads.ownership).
        ownership.writer_register(services)
        # Coverage tells people about deals and disputes on the bell through leads.notices.
        notices.sender_register(services.notify)
        # Open boards and manager queues are told when a lead enters or leaves them (live streams).
        live.audience_register(live.ROUTING, scoping.routing_audience)
