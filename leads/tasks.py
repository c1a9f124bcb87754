"""Thin Celery wrappers: they take ids and call services."""

from celery import shared_task

from leads import services


@shared_task(acks_late=True)
def lead_route_task(lead_id: int) -> bool:
    return services.lead_route(lead_id=lead_id)


@shared_task
def lead_route_due_task() -> int:
    return services.lead_route_due()
