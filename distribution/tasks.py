"""Thin Celery wrappers: nudges that call services; the sweeper is what guarantees the work."""

from celery import shared_task

from distribution import services, sweeper


@shared_task(acks_late=True)
def notification_sms_task(notification_id: int) -> bool:
    return services.notification_sms_send(notification_id=notification_id)


@shared_task
def sweep_task() -> dict[str, int]:
    return sweeper.sweep()
