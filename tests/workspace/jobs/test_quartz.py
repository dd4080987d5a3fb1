"""Quartz cron expressions on croniter: day-of-week numbering, the special characters, time zones across
daylight-saving changes, the 10 s floor, and what is refused with Databricks' message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.jobs.quartz import QuartzSchedule, translate

JAN_1_2026 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)  # a Thursday


def fires(expression: str, start_ms: int = JAN_1_2026, count: int = 4, tz: str = "UTC") -> list[str]:
    schedule = QuartzSchedule(expression, tz)
    out, at = [], start_ms
    for _ in range(count):
        nxt = schedule.next_after(at)
        assert nxt is not None
        out.append(datetime.fromtimestamp(nxt / 1000, schedule.zone).strftime("%a %Y-%m-%d %H:%M:%S %Z"))
        at = nxt
    return out


@pytest.mark.parametrize(
    ("dow", "first_days"),
    [
        ("1", ["Sun", "Sun"]),  # Quartz: 1 = Sunday (croniter: 0)
        ("2", ["Mon", "Mon"]),
        ("7", ["Sat", "Sat"]),
        ("SUN", ["Sun", "Sun"]),
        ("2-6", ["Thu", "Fri", "Mon"]),  # Monday to Friday
        ("MON-FRI", ["Thu", "Fri", "Mon"]),
        ("1,7", ["Sat", "Sun", "Sat"]),
        ("1/3", ["Sat", "Sun", "Wed"]),  # from Sunday, every third day of the week
    ],
)
def test_day_of_week_numbers_from_sunday_as_quartz_does(dow: str, first_days: list[str]) -> None:
    days = [f.split()[0] for f in fires(f"0 0 12 ? * {dow}", count=len(first_days))]
    assert days == first_days


def test_the_special_characters() -> None:
    assert fires("0 0 12 ? * 6L", count=2) == ["Fri 2026-01-30 12:00:00 UTC", "Fri 2026-02-27 12:00:00 UTC"]
    assert fires("0 0 12 ? * 6#3", count=2) == ["Fri 2026-01-16 12:00:00 UTC", "Fri 2026-02-20 12:00:00 UTC"]
    assert fires("0 0 12 L * ?", count=2) == ["Sat 2026-01-31 12:00:00 UTC", "Sat 2026-02-28 12:00:00 UTC"]
    # LW: the last weekday of the month (January 2026 ends on a Saturday, May on a Sunday).
    assert fires("0 0 12 LW * ?", count=5)[0] == "Fri 2026-01-30 12:00:00 UTC"
    assert fires("0 0 12 LW * ?", count=5)[4] == "Fri 2026-05-29 12:00:00 UTC"
    assert fires("0 0 12 L-2 * ?", count=2) == ["Thu 2026-01-29 12:00:00 UTC", "Thu 2026-02-26 12:00:00 UTC"]
    # 15W: the weekday nearest the 15th (Sunday 15 February 2026 -> Monday 16th).
    assert fires("0 0 12 15W * ?", count=2) == ["Thu 2026-01-15 12:00:00 UTC", "Mon 2026-02-16 12:00:00 UTC"]
    assert fires("0 0 12 ? * L", count=1) == ["Sat 2026-01-03 12:00:00 UTC"]  # L alone: Saturday
    assert fires("0 15 10 ? * * 2027", count=1) == ["Fri 2027-01-01 10:15:00 UTC"]  # the year field
    assert fires("0 0 0 LW 2 ? 2099", count=1) == ["Fri 2099-02-27 00:00:00 UTC"]  # decades ahead still found


def test_seconds_come_first_and_steps_work() -> None:
    assert fires("0/10 * * * * ?", count=3) == [
        "Thu 2026-01-01 00:00:10 UTC",
        "Thu 2026-01-01 00:00:20 UTC",
        "Thu 2026-01-01 00:00:30 UTC",
    ]


def test_the_ten_second_floor_whatever_the_expression() -> None:
    schedule = QuartzSchedule("* * * * * ?", "UTC")  # every second
    first = schedule.next_fire(JAN_1_2026, None)
    assert first == JAN_1_2026 + 1000
    assert first is not None
    assert schedule.next_fire(first, first) == first + 10_000


def test_spring_forward_skips_the_missing_hour() -> None:
    # America/New_York jumps from 02:00 to 03:00 on 8 March 2026: a 02:30 daily run is skipped that day.
    start = int(datetime(2026, 3, 7, 12, tzinfo=UTC).timestamp() * 1000)
    assert fires("0 30 2 * * ?", start, count=2, tz="America/New_York") == [
        "Mon 2026-03-09 02:30:00 EDT",
        "Tue 2026-03-10 02:30:00 EDT",
    ]
    hourly = fires(
        "0 30 * * * ?", int(datetime(2026, 3, 8, 5, 0, tzinfo=UTC).timestamp() * 1000), 3, "America/New_York"
    )
    assert hourly == ["Sun 2026-03-08 00:30:00 EST", "Sun 2026-03-08 01:30:00 EST", "Sun 2026-03-08 03:30:00 EDT"]


def test_fall_back_fires_a_repeated_wall_time_once() -> None:
    # On 1 November 2026 01:00-02:00 happens twice in New York: 01:30 fires once, then 02:30 (two hours later).
    start = int(datetime(2026, 11, 1, 4, 0, tzinfo=UTC).timestamp() * 1000)
    assert fires("0 30 * * * ?", start, count=3, tz="America/New_York") == [
        "Sun 2026-11-01 00:30:00 EDT",
        "Sun 2026-11-01 01:30:00 EDT",
        "Sun 2026-11-01 02:30:00 EST",
    ]


def test_a_zone_keeps_its_wall_time_and_java_offsets_are_read() -> None:
    assert fires("0 0 9 * * ?", count=1, tz="Europe/Amsterdam") == ["Thu 2026-01-01 09:00:00 CET"]
    schedule = QuartzSchedule("0 0 9 * * ?", "GMT+2")
    assert schedule.next_after(JAN_1_2026) == JAN_1_2026 + 7 * 3_600_000


@pytest.mark.parametrize(
    "expression",
    [
        "0 30 2,7,11,15 * * *",  # neither day field is "?" (Databricks' own example of a refused expression)
        "0 0 12 1 * 2",  # both day fields set
        "* * * * *",  # standard five-field cron
        "0 0 12 ? * 8",  # no eighth weekday
        "0 0 12 ? * 0",  # Quartz weekdays start at 1
        "0 0 12 ? * 1-",
        "0 ? 12 * * 1",
        "a b c d e ?",
    ],
)
def test_what_cannot_be_honoured_is_refused_with_the_services_message(expression: str) -> None:
    with pytest.raises(InvalidParameterValue) as refused:
        translate(expression)
    assert str(refused.value).startswith(f"Invalid quartz_cron_expression: {expression}. Databricks uses Quartz")


def test_an_expression_that_never_fires_again_and_an_unknown_zone_are_refused() -> None:
    with pytest.raises(InvalidParameterValue, match=r"The provided cron expression: .* will never fire\."):
        QuartzSchedule("0 1 0 8 4 ? 2021", "UTC").check_fires(JAN_1_2026)
    with pytest.raises(InvalidParameterValue, match="Invalid timezone_id: 'Mars/Olympus'"):
        QuartzSchedule("0 0 12 * * ?", "Mars/Olympus")
