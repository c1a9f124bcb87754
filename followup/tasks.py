"""Thin Celery wrappers for follow-up; named as when leads held them, so queued messages and
beat's schedule keep working."""

from celery import shared_task
from django.utils import timezone

from followup import appointments
from followup import services as followup


@shared_task(name="leads.tasks.followup_sweep_task")
def followup_sweep_task() -> dict[str, int]:
    now = timezone.now()
    return {
        "tasks": followup.tasks_due(now=now),
        "reminders": appointments.reminders_due(now=now),
        "no_shows": appointments.no_shows_due(now=now),
    }
