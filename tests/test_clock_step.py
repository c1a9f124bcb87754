"""The clock step of `./dev test` (see `clock_step` there) runs the tests marked `clock` again with
the process clock moved by libfaketime. These tests hold that step to what it claims: every
time-dependent module is in it, and its moments are the awkward ones it names."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from factories import StoreFactory

pytestmark = pytest.mark.clock

TESTS = Path(__file__).resolve().parent
DEV = TESTS.parent / "dev"

# A module is time-dependent when its text reads the clock or builds dates, times of day or
# durations (which meet the clock sooner or later), or when it imports a helper module of the test
# tree that does (floor.at, the seed's fixed dates, all-day shifts). factories.py is not such a
# helper: its only clock read is LeadFactory's default `received_at=now`, the same clock the code
# under test reads, so it never mixes a fixed moment with the real one.
READS_THE_CLOCK = re.compile(
    r"timezone\.now|\blocaltime\b|\blocaldate\b|\bdate\.today|\bdatetime\.now|\bdatetime\.utcnow|\btime\.time\("
    r"|\btime_machine\b|\btimedelta\b|\b(?:datetime|date|time)\(|\bfromisoformat\b|\bstrptime\b"
)
NOT_A_CLOCK_HELPER = {"conftest", "factories"}


def _modules() -> list[Path]:
    return sorted(path for path in TESTS.rglob("test_*.py") if "browser" not in path.relative_to(TESTS).parts)


def _helpers() -> dict[str, Path]:
    return {
        path.stem: path
        for path in TESTS.rglob("*.py")
        if not path.stem.startswith("test_") and path.stem not in NOT_A_CLOCK_HELPER
    }


def _imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
    return names


def _marked_clock(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
            for part in ast.walk(node.value):
                if isinstance(part, ast.Attribute) and part.attr == "clock" and getattr(part.value, "attr", None) == "mark":
                    return True
    return False


def _time_dependent(source: str, helpers: dict[str, Path]) -> bool:
    if READS_THE_CLOCK.search(source):
        return True
    return any(READS_THE_CLOCK.search(helpers[name].read_text()) for name in _imported(ast.parse(source)) & helpers.keys())


def test_every_module_that_reads_or_fixes_the_clock_is_in_the_clock_step():
    helpers = _helpers()
    unmarked = []
    for path in _modules():
        source = path.read_text()
        if _time_dependent(source, helpers) and not _marked_clock(ast.parse(source)):
            unmarked.append(str(path.relative_to(TESTS)))
    assert unmarked == [], (
        "these modules read or fix the clock: add `pytestmark = pytest.mark.clock` (or put "
        f"pytest.mark.clock in their pytestmark list) so ./dev test runs them at awkward moments: {unmarked}"
    )


def test_the_rule_tells_a_clock_module_from_one_that_never_meets_the_clock():
    helpers = _helpers()

    def dependent(source: str) -> bool:
        return _time_dependent(source, helpers)

    assert dependent("import datetime as dt\nWHEN = dt.time(9)\n")
    assert dependent("from django.utils import timezone\nNOW = timezone.now()\n")
    assert dependent("from floor import at\n")
    assert not dependent("from factories import StoreFactory\nfrom leads.services import lead_update\n")
    assert _marked_clock(ast.parse("import pytest\npytestmark = [pytest.mark.django_db, pytest.mark.clock]\n"))
    assert not _marked_clock(ast.parse("import pytest\npytestmark = pytest.mark.django_db\n"))


def _dev_setting(name: str) -> str:
    match = re.search(rf"^{name}=(\(.*?^\)|\S+)", DEV.read_text(), re.MULTILINE | re.DOTALL)
    assert match, f"./dev defines {name}"
    return match.group(1)


def _moments() -> list[dt.datetime]:
    zone = ZoneInfo(_dev_setting("CLOCK_ZONE").strip('"'))
    starts = re.findall(r'^\s*"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\|', _dev_setting("CLOCK_MOMENTS"), re.MULTILINE)
    # fold=0: the first of a repeated hour, as libfaketime's mktime reads it.
    return [dt.datetime.strptime(start, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone) for start in starts]


def _day_length(moment: dt.datetime) -> dt.timedelta:
    midnight = dt.datetime.combine(moment.date(), dt.time(0), tzinfo=moment.tzinfo)
    next_midnight = dt.datetime.combine(moment.date() + dt.timedelta(days=1), dt.time(0), tzinfo=moment.tzinfo)
    return next_midnight.astimezone(dt.UTC) - midnight.astimezone(dt.UTC)


def test_the_clock_step_runs_in_the_test_stores_zone():
    assert _dev_setting("CLOCK_ZONE").strip('"') == StoreFactory.build().time_zone


def test_the_clock_steps_moments_are_a_sunday_night_and_the_daylight_saving_jumps():
    moments = _moments()
    assert len(moments) >= 2
    sunday_night_monday_in_utc = [
        m for m in moments if m.weekday() == 6 and m.hour == 23 and m.astimezone(dt.UTC).weekday() == 0
    ]
    assert sunday_night_monday_in_utc, "a Sunday 23:xx in the store's zone that is already Monday in UTC"
    # CI runs only the first moment (./dev test without --all-clocks): it alone must be a Sunday
    # night that is Monday in UTC, on a day the clocks change.
    first = moments[0]
    assert first in sunday_night_monday_in_utc and _day_length(first) != dt.timedelta(hours=24)
    assert {_day_length(m) for m in moments} >= {dt.timedelta(hours=23), dt.timedelta(hours=25)}, (
        "both days the clocks change"
    )
    # The run is minutes long: a moment minutes before a jump crosses it while the tests run.
    crossing = [m for m in moments if m.utcoffset() != (m.astimezone(dt.UTC) + dt.timedelta(minutes=5)).astimezone(m.tzinfo).utcoffset()]
    assert crossing, "a moment that crosses a daylight saving jump during the run"
