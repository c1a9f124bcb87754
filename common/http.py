"""The request type of views that read `request.htmx`."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """For annotations only: django_htmx's HtmxMiddleware (dealercrm.settings.MIDDLEWARE) sets
    `htmx` on every request, which HttpRequest's type does not know."""

    htmx: HtmxDetails
