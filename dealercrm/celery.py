"""The Celery application: Redis is the broker; beat runs the short periodic sweepers.

Deadlines live in PostgreSQL columns; periodic tasks pick up whatever is due, so a lost
message or a dead worker only delays work (see DESIGN.md, architecture principles).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")

app = Celery("dealercrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
