"""The ASGI application: pages, the API and the live streams (live/) in one process.

Run it under uvicorn's worker for gunicorn (README, "Configuration for production"). Under ASGI
each request runs in a thread of its own, so a connection kept by a request would stay behind,
unused: the process shares a pool of DATABASE_POOL_SIZE connections (default 10) instead, taken
for a request and given back at its end. An open live stream holds none.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")
os.environ.setdefault("DATABASE_POOL_SIZE", "10")

from django.core.asgi import get_asgi_application  # noqa: E402 - after the environment above

from dealercrm.process import tune_garbage_collector  # noqa: E402

application = get_asgi_application()
tune_garbage_collector()
