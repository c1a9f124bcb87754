"""Thin Celery wrappers: they take ids and call services.

Routing itself lives in distribution; these names stay because messages already queued refer
to them."""

from celery import shared_task


@shared_task(acks_late=True)
def lead_route_task(lead_id: int) -> bool:
    from distribution.services import lead_route

    return lead_route(lead_id=lead_id)


@shared_task
def lead_route_due_task() -> int:
    from django.utils import timezone

    from distribution.sweeper import route_due

    return route_due(now=timezone.now())
