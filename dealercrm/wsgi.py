import os

from django.core.wsgi import get_wsgi_application

from dealercrm.process import tune_garbage_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")
application = get_wsgi_application()
tune_garbage_collector()
