"""A new contact event (leads.events, the one write path) stamps response times and stops the
owner's reassignment clock."""

from django.dispatch import receiver

from leads.events import contact_event_recorded


@receiver(contact_event_recorded, dispatch_uid="distribution-response-times")
def contact_event_saved(sender, event, store, **kwargs) -> None:
    from distribution.services import contact_event_recorded as stamp

    stamp(event)
