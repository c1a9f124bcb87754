"""{% load coverage_format %}: {{ credit.share|percent }} -> "50 %" (see dealcoverage.formatting)."""

from django import template

from dealcoverage import formatting

register = template.Library()


@register.filter
def percent(share) -> str:
    return formatting.percent(share)
