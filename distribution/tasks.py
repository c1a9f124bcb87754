"""Thin Celery wrappers: nudges that call services; the sweeper is what guarantees the work."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from distribution import services, sweeper
from leads.nudges import nudge


@shared_task(acks_late=True)
def notification_sms_task(notification_id: int) -> bool:
    return services.notification_sms_send(notification_id=notification_id)


@shared_task
def sweep_task() -> dict[str, int]:
    """Beat's pass (never two at once); due leads go out as route_due_task chunks."""
    return sweeper.sweep_exclusive(chunks=lambda count: sum(nudge(route_due_task) for _ in range(count)))


@shared_task
def route_due_task() -> int:
    """One chunk of due leads, claimed with SKIP LOCKED beside the other chunks."""
    return sweeper.route_due(now=timezone.now(), limit=settings.SWEEP_CHUNK_LEADS)


# Routing a new lead (nudged by leads.services through leads' routing_due signal, see
# distribution.signals). Named as when leads held them: messages already queued keep working.
@shared_task(acks_late=True, name="leads.tasks.lead_route_task")
def lead_route_task(lead_id: int) -> bool:
    return services.lead_route(lead_id=lead_id)


@shared_task(name="leads.tasks.lead_route_due_task")
def lead_route_due_task() -> int:
    return sweeper.route_due(now=timezone.now())
