"""Distribution listens to leads (which never imports it): a new contact event (leads.events,
the one write path) stamps response times and stops the owner's reassignment clock; a lead
created with an owner, or as a duplicate, gets its owner from the one writer of ownership in the
creating transaction (leads.ownership); a lead sold or lost marks its routing row closed
(leads.services.lead_status_changed)."""

from django.dispatch import receiver

from leads.events import contact_event_recorded
from leads.nudges import nudge
from leads.ownership import lead_created
from leads.services import lead_status_changed, routing_due
from live import events as live
from org.schedules import schedule_changed


@receiver(contact_event_recorded, dispatch_uid="distribution-response-times")
def contact_event_saved(sender, event, store, **kwargs) -> None:
    from distribution.services import contact_event_recorded as stamp

    stamp(event)


@receiver(lead_created, dispatch_uid="distribution-lead-created")
def lead_created_saved(sender, lead, owner, original, by, **kwargs) -> None:
    from distribution.services import lead_created_owned

    lead_created_owned(lead=lead, owner=owner, original=original, by=by)


@receiver(lead_status_changed, dispatch_uid="distribution-lead-status")
def lead_status_saved(sender, lead, from_status, to_status, **kwargs) -> None:
    from distribution.services import lead_status_changed as closed

    closed(lead=lead, to_status=to_status)


@receiver(routing_due, dispatch_uid="distribution-route-now")
def routing_due_nudge(sender, lead_id, **kwargs) -> None:
    from distribution.tasks import lead_route_task

    nudge(lead_route_task, lead_id)


@receiver(schedule_changed, dispatch_uid="distribution-schedule-changed")
def schedule_saved(sender, staff, **kwargs) -> None:
    from distribution.services import waiting_leads_retry

    waiting_leads_retry(store_id=staff.store_id)
    # Who is on the floor may have changed: the store's open boards reload it.
    live.publish(store_id=staff.store_id, topic=live.ROUTING, data={"floor": staff.pk})
