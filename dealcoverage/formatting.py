"""How coverage numbers read on a page: a share of a deal as a percentage, never "5E+1".

A share is stored as a Decimal fraction of the deal (0.500). Decimal.normalize() alone turns
50 into "5E+1" and 100 into "1E+2"; everything here goes through format(..., "f").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def _plain(value: Decimal) -> str:
    """50.0 -> "50", 33.30 -> "33.3", 100 -> "100" (never scientific notation)."""
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")


def percent_number(share) -> str:
    """A share (0 to 1) as a percentage number for an input: 0.5 -> "50", 1 -> "100", 1/3 -> "33.3"."""
    try:
        value = Decimal(str(share)) * 100
    except (InvalidOperation, ValueError, TypeError):
        return ""
    return _plain(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def percent(share) -> str:
    """A share as a percentage, as the coverage pages show it: 0.5 -> "50 %", 0.333 -> "33.3 %"."""
    number = percent_number(share)
    return f"{number} %" if number else ""


def deals(value) -> str:
    """A count of deals (credit summed over deals): 2.500 -> "2.5", 20.000 -> "20", 0 -> "0"."""
    try:
        value = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return ""
    return _plain(value) if value else "0"
