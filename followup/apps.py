from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "followup"

    def ready(self) -> None:
        from followup import services
        from followup.lead_panel import lead_panel
        from leads import lead_page, ownership
        from leads.events import contact_event_recorded
        from leads.models import LeadStatus
        from leads.services import lead_status_changed

        # A contact event completes the tasks it does and, once two-way, ends the cadence.
        contact_event_recorded.connect(
            lambda sender, event, store, **kwargs: services.event_recorded(event, store=store),
            dispatch_uid="followup-event-recorded", weak=False,
        )
        # A lead with a new owner starts its cadence or hands its open tasks over.
        ownership.lead_owner_changed.connect(
            lambda sender, lead, owner_id, **kwargs: services.lead_owner_changed(lead=lead, owner_id=owner_id),
            dispatch_uid="followup-owner-changed", weak=False,
        )

        # Sold or lost: nothing left to follow up (in the transaction that closed the lead).
        def closed(sender, lead, to_status, **kwargs) -> None:
            if to_status in (LeadStatus.SOLD, LeadStatus.LOST):
                services.lead_closed(lead=lead)

        lead_status_changed.connect(closed, dispatch_uid="followup-lead-closed", weak=False)
        lead_page.panel_register(lead_panel)
