"""The lead page's "Deal" card, provided by coverage so that leads never imports it: the lead
template does {% load coverage_deals %}{% lead_deal_cards lead %}. The deals shown are the
viewer's (dealcoverage.scoping.deals_for), the same the deal list and the API show."""

from __future__ import annotations

from django import template
from django.db.models import Prefetch

from dealcoverage.models import DealCredit, Dispute
from dealcoverage.scoping import deals_for
from dealcoverage.verdicts import viewer_verdict
from org.scoping import viewer_for

register = template.Library()


@register.inclusion_tag("coverage/_lead_deals.html", takes_context=True)
def lead_deal_cards(context, lead):
    request = context.get("request")
    if request is None or lead is None:
        return {"deals": []}
    viewer = viewer_for(request.user)
    deals = list(
        deals_for(request.user).filter(customer_id=lead.customer_id)
        .select_related("closer__user")
        .prefetch_related(
            Prefetch("credits", queryset=DealCredit.objects.filter(active=True).select_related("staff__user"),
                     to_attr="active_credits"),
            Prefetch("disputes", queryset=Dispute.objects.select_related("raised_by__user", "resolved_by__user"),
                     to_attr="all_disputes"),
        )
        .order_by("-sold_at", "-pk")[:5]
    )
    for deal in deals:
        deal.verdict = viewer_verdict(deal, viewer.staff.pk if viewer.staff else None)
    return {"deals": deals}
