"""What a deal's frozen decision says about one person, read back for the pages that show it to
them (the deal list, the lead page's Deal card). Never re-judges: it reads Deal.decision."""

from __future__ import annotations

from dealcoverage.models import Deal


def viewer_verdict(deal: Deal, staff_id: int | None) -> dict | None:
    """{"role": "closer"|"judged"|"skipped", "covered", "explanation", "share"} for `staff_id` on
    `deal`, or None when the decision does not name them. `share` is their active credit (needs
    `deal.active_credits` prefetched, else it is read)."""
    if staff_id is None:
        return None
    decision = deal.decision or {}
    credits = getattr(deal, "active_credits", None)
    if credits is None:
        credits = list(deal.credits.filter(active=True))
    share = sum((c.share for c in credits if c.staff_id == staff_id), start=0)
    judged = (decision.get("decisions") or {}).get(str(staff_id))
    if staff_id == deal.closer_id:
        return {"role": "closer", "covered": True, "explanation": (judged or {}).get("explanation", ""), "share": share}
    if judged is not None:
        return {"role": "judged", "covered": bool(judged.get("covered")), "explanation": judged.get("explanation", ""),
                "share": share}
    for skipped in decision.get("skipped") or []:
        if str(skipped.get("staff_id")) == str(staff_id):
            return {"role": "skipped", "covered": False, "explanation": f"Not judged: {skipped.get('reason', '')}.",
                    "share": share}
    if share:
        return {"role": "credited", "covered": True, "explanation": "", "share": share}
    return None
