from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from leads.events import contact_event_recorded
        from leads.followup import event_recorded

        # Follow-up belongs with leads today; it subscribes like any other app would.
        contact_event_recorded.connect(
            lambda sender, event, store, **kwargs: event_recorded(event, store=store),
            dispatch_uid="leads-followup", weak=False,
        )
