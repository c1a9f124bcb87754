from celery import shared_task

from live import events


@shared_task(name="live.tasks.prune_task", ignore_result=True)
def prune_task() -> int:
    return events.prune()
