"""The ASGI application: pages, the API and the live streams (live/) in one process.

Run it under uvicorn's worker for gunicorn (see README, "Running in production"). Under ASGI each
request has its own database connection context, so a persistent connection would outlive its
request unused: connections close at the end of each request unless DATABASE_CONN_MAX_AGE says
otherwise (put PgBouncer in front of a busy database).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")

from django.core.asgi import get_asgi_application  # noqa: E402 - after the environment above

from dealercrm.process import tune_garbage_collector  # noqa: E402

application = get_asgi_application()
tune_garbage_collector()
