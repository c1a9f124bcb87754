"""Shares read as percentages on every coverage page (issue 13: "5E+1", "1E+2")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from dealcoverage.formatting import deals, percent, percent_number


@pytest.mark.parametrize(("share", "shown"), [
    (Decimal("0.500"), "50 %"), (Decimal("1.000"), "100 %"), (Decimal("1"), "100 %"), (Decimal("0"), "0 %"),
    (Decimal("0.333"), "33.3 %"), (Decimal("0.25"), "25 %"), (0.5, "50 %"), ("0.1", "10 %"),
])
def test_percent(share, shown):
    assert percent(share) == shown
    assert "E" not in percent_number(share)


def test_percent_filter_and_deal_counts():
    rendered = Template("{% load coverage_format %}{{ a|percent }} / {{ b|percent }}").render(
        Context({"a": Decimal("0.500"), "b": Decimal("1.000")})
    )
    assert rendered == "50 % / 100 %"
    assert [deals(v) for v in (Decimal("20.000"), Decimal("2.500"), Decimal(0), Decimal("-0.5"))] == ["20", "2.5", "0", "-0.5"]
