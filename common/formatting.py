"""How spans of time read on a page, for a busy reader."""

from __future__ import annotations

import datetime as dt


def span_text(span: dt.timedelta | None) -> str:
    """6 min, 1 h 12 min, 2 d 3 h: how long, for a busy reader."""
    if span is None:
        return ""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours_, mins = divmod(minutes, 60)
    if hours_ < 24:
        return f"{hours_} h {mins} min" if mins else f"{hours_} h"
    days, hours_ = divmod(hours_, 24)
    return f"{days} d {hours_} h" if hours_ else f"{days} d"
