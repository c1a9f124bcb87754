"""{% load coverage_format %}: {{ credit.share|percent }} -> "50 %" (see coverage.formatting)."""

from django import template

from coverage import formatting

register = template.Library()


@register.filter
def percent(share) -> str:
    return formatting.percent(share)
