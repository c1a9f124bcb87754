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


@shared_task
def followup_sweep_task() -> dict[str, int]:
    from django.utils import timezone

    from leads import appointments, followup

    now = timezone.now()
    return {
        "tasks": followup.tasks_due(now=now),
        "reminders": appointments.reminders_due(now=now),
        "no_shows": appointments.no_shows_due(now=now),
    }


@shared_task
def salesboard_refresh_task(store_id: int) -> bool:
    """Recompute one store's sales board snapshot (leads.salesboard)."""
    from leads import salesboard

    return salesboard.snapshot_refresh(store_id) is not None


@shared_task
def salesboard_refresh_due_task() -> int:
    """Beat: keep every store's sales board snapshot at most a few minutes old."""
    from django.utils import timezone

    from leads import salesboard

    return salesboard.refresh_due(now=timezone.now())
