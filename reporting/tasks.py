"""Thin Celery wrappers for the sales board; named as when leads held them, so queued messages
and beat's schedule keep working."""

from celery import shared_task
from django.utils import timezone

from reporting import salesboard


@shared_task(name="leads.tasks.salesboard_refresh_task")
def salesboard_refresh_task(store_id: int) -> bool:
    """Recompute one store's sales board snapshot (reporting.salesboard)."""
    return salesboard.snapshot_refresh(store_id) is not None


@shared_task(name="leads.tasks.salesboard_refresh_due_task")
def salesboard_refresh_due_task() -> int:
    """Beat: keep every store's sales board snapshot at most a few minutes old."""
    return salesboard.refresh_due(now=timezone.now())
