"""A new contact event stamps response times (distribution.services) and completes follow-up
tasks (leads.followup)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from leads.models import ContactEvent


@receiver(post_save, sender=ContactEvent, dispatch_uid="distribution-response-times")
def contact_event_saved(sender, instance: ContactEvent, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from distribution.services import contact_event_recorded
        from leads.followup import event_recorded

        # In the same transaction as the event: both are written or neither.
        contact_event_recorded(instance)
        event_recorded(instance)
