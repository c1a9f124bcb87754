"""The Celery application: Redis is the broker; beat runs the short periodic sweepers.

Deadlines live in PostgreSQL columns; periodic tasks pick up whatever is due, so a lost
message or a dead worker only delays work (see DESIGN.md, architecture principles).
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")

app = Celery("dealercrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup closes the database connection before and after every task unless told
# how often it may reuse one: a new PostgreSQL backend per task cost more than the routing work
# itself (bench/distribution.py). The fixup now recycles a connection every this many tasks;
# between them Django's own rules apply, as for a web request (below).
app.conf.CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "500"))
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_connections_as_for_a_request(task=None, **kwargs) -> None:
    """What Django does around each request: drop a connection that is past CONN_MAX_AGE, in a
    broken transaction state, or failed (CONN_HEALTH_CHECKS tests it before its next use).
    Not for a task run eagerly inside the caller's transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
