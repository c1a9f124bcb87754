"""A new contact event stamps response times (distribution.services) and completes follow-up
tasks (leads.followup)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from leads.models import ContactEvent


@receiver(post_save, sender=ContactEvent, dispatch_uid="distribution-response-times")
def contact_event_saved(sender, instance: ContactEvent, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from distribution.services import contact_event_flags, contact_event_recorded
        from leads.followup import event_recorded
        from org.models import Store

        # In the same transaction as the event: both are written or neither. The store and the
        # event's kind are read once for both.
        store = Store.objects.only("min_talk_seconds", "time_zone", "business_hours").get(pk=instance.store_id)
        attempt, two_way = contact_event_flags(instance, store)
        contact_event_recorded(instance, attempt=attempt, two_way=two_way)
        event_recorded(instance, store=store, two_way=two_way)
