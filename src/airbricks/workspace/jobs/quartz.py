"""Quartz cron expressions (a job's ``schedule.quartz_cron_expression``) on ``croniter``.

Databricks schedules are Quartz expressions: seconds first, an optional year, day-of-week 1-7 with
1 = Sunday, ``?`` for "no specific value" in exactly one of day-of-month and day-of-week, and the special
characters ``L``, ``nL``, ``L-n``, ``W``, ``LW`` and ``#``. ``croniter`` (a maintained library, already installed
with Airflow) reads seconds-first expressions with a year, but numbers weekdays 0-6 from Sunday and spells
"last Friday" ``L5``; :func:`translate` rewrites the day-of-week field and keeps the day-of-month forms
croniter lacks (``LW``, ``L-n``) as a filter on the days it yields. What neither can honour is refused at
``jobs/create|reset|update`` with the service's INVALID_PARAMETER_VALUE message.

Times are computed on the wall clock of the schedule's ``timezone_id`` (a Java time zone id) and then placed
on the time line, so a daylight-saving change behaves as the Databricks docs say: a wall time that does not
exist that day (spring forward) is skipped, and one that happens twice (fall back) fires once, the first time.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter  # type: ignore[import-untyped]  # croniter ships no type hints

from airbricks.workspace.errors import InvalidParameterValue

QUARTZ_DOCS = "http://www.quartz-scheduler.org/documentation/quartz-2.1.x/tutorials/crontrigger.html"
#: Databricks enforces this much time between runs a schedule starts, whatever the expression says.
MIN_INTERVAL_MS = 10_000
#: How far ahead a schedule is searched before it is declared never to fire (Quartz stops at year 2099).
_HORIZON = datetime(2100, 1, 1)
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
#: Java's short zone ids that the IANA database does not know under the same name.
_JAVA_ALIASES = {"GMT": "Etc/GMT", "UT": "Etc/UTC", "Z": "Etc/UTC"}


def invalid(expression: str) -> InvalidParameterValue:
    """The error Databricks answers for an expression it cannot read."""
    return InvalidParameterValue(
        f"Invalid quartz_cron_expression: {expression}. Databricks uses Quartz cron syntax, which is different "
        f"from the standard cron syntax. See {QUARTZ_DOCS} for more details."
    )


def never_fires(expression: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"The provided cron expression: {expression} will never fire.")


def zone(timezone_id: object) -> ZoneInfo:
    """The time zone of a Java ``timezone_id`` (IANA names, ``UTC``, ``GMT``, ``GMT+2``)."""
    name = str(timezone_id or "").strip()
    offset = re.fullmatch(r"(?:GMT|UTC)([+-])(\d{1,2})(?::00)?", name)
    if offset:  # Java's GMT+2 is the IANA Etc/GMT-2 (POSIX signs are reversed)
        name = f"Etc/GMT{'-' if offset.group(1) == '+' else '+'}{int(offset.group(2))}"
    try:
        return ZoneInfo(_JAVA_ALIASES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidParameterValue(
            f"Invalid timezone_id: {timezone_id!r}. Use a Java time zone id such as UTC or Europe/Amsterdam."
        ) from None


def _weekday(token: str, expression: str) -> str:
    """One Quartz weekday (1-7 from Sunday, or a name) as croniter's (0-6 from Sunday)."""
    upper = token.upper()
    if upper in _DAY_NAMES:
        return upper
    if not upper.isdigit() or not 1 <= int(upper) <= 7:
        raise invalid(expression)
    return str(int(upper) - 1)


def _day_of_week(field: str, expression: str) -> str:
    """Quartz's day-of-week field in croniter's numbering and spelling."""
    if field in ("?", "*"):
        return "*"
    parts = []
    for part in field.split(","):
        upper = part.upper()
        if upper == "L":  # the last day of the week: Saturday
            parts.append("6")
        elif upper.endswith("L"):  # nL: the last weekday n of the month
            parts.append("L" + _weekday(upper[:-1], expression))
        elif "#" in upper:  # n#k: the k-th weekday n of the month
            day, nth = upper.split("#", 1)
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise invalid(expression)
            parts.append(f"{_weekday(day, expression)}#{nth}")
        else:
            span, _, step = upper.partition("/")
            if step and not step.isdigit():
                raise invalid(expression)
            ends = [_weekday(t, expression) if t != "*" else "*" for t in span.split("-", 1)]
            if len(ends) == 2 and "*" in ends:
                raise invalid(expression)
            parts.append("-".join(ends) + (f"/{step}" if step else ""))
    return ",".join(parts)


def _last_weekday(day: datetime) -> bool:
    """``LW``: the last Monday-to-Friday of the month."""
    last = calendar.monthrange(day.year, day.month)[1]
    target = datetime(day.year, day.month, last)
    while target.weekday() >= 5:
        target -= timedelta(days=1)
    return day.day == target.day


def _day_filter(field: str) -> Callable[[datetime], bool] | None:
    """A filter for the day-of-month forms croniter lacks: ``LW`` and ``L-n``."""
    upper = field.upper()
    if upper == "LW":
        return _last_weekday
    minus = re.fullmatch(r"L-(\d{1,2})", upper)
    if minus:
        back = int(minus.group(1))
        return lambda day: day.day == calendar.monthrange(day.year, day.month)[1] - back
    return None


@dataclass(frozen=True)
class Translation:
    """A Quartz expression as croniter reads it, plus a day filter for what croniter lacks."""

    expression: str
    day_filter: Callable[[datetime], bool] | None


def translate(expression: object) -> Translation:
    """The croniter form of a Quartz expression; INVALID_PARAMETER_VALUE for what cannot be honoured."""
    text = str(expression or "").strip()
    fields = text.split()
    if not isinstance(expression, str) or len(fields) not in (6, 7):
        raise invalid(str(expression))
    dom, dow = fields[3], fields[5]
    if (dom == "?") == (dow == "?"):  # Quartz: exactly one of the two days is "no specific value"
        raise invalid(text)
    if "?" in fields[:3] + fields[4:5] + fields[6:]:
        raise invalid(text)
    day_filter = _day_filter(dom)
    cron_fields = list(fields)
    cron_fields[3] = "*" if dom == "?" or day_filter is not None else dom
    cron_fields[5] = _day_of_week(dow, text)
    if len(cron_fields) == 6:
        cron_fields.append("*")
    translated = " ".join(cron_fields)
    try:
        croniter(translated, datetime(2000, 1, 1), second_at_beginning=True)
    except (ValueError, KeyError, TypeError):
        raise invalid(text) from None
    return Translation(translated, day_filter)


class QuartzSchedule:
    """A parsed schedule: :meth:`next_after` gives its fire times in epoch milliseconds."""

    def __init__(self, expression: object, timezone_id: object) -> None:
        self.text = str(expression)
        self.translation = translate(expression)
        self.zone = zone(timezone_id)

    def check_fires(self, now_ms: int) -> None:
        """INVALID_PARAMETER_VALUE, as Databricks answers, for an expression with no fire time left."""
        if self.next_after(now_ms) is None:
            raise never_fires(self.text)

    def _wall_times(self, start: datetime) -> croniter:
        # Look as far as Quartz's last year: croniter gives up after 50 years without a match by default.
        return croniter(
            self.translation.expression, start, second_at_beginning=True, max_years_between_matches=_HORIZON.year - 1970
        )

    def next_after(self, after_ms: int) -> int | None:
        """The first fire time strictly after ``after_ms`` (None: the expression never fires again)."""
        after = datetime.fromtimestamp(after_ms / 1000, UTC)
        wall = after.astimezone(self.zone).replace(tzinfo=None)
        # Start an hour early: after a fall-back change the same wall times come round again.
        times = self._wall_times(wall - timedelta(hours=1))
        for _ in range(100_000):
            try:
                candidate: datetime = times.get_next(datetime)
            except (StopIteration, ValueError, OverflowError):  # croniter's end of a year-limited expression
                return None
            if candidate >= _HORIZON:
                return None
            day_filter = self.translation.day_filter
            if day_filter is not None and not day_filter(candidate):
                continue
            placed = candidate.replace(tzinfo=self.zone, fold=0)
            if placed.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) != candidate:
                continue  # the wall time does not exist that day (spring forward): skipped
            ms = int(placed.timestamp() * 1000)
            if ms > after_ms:
                return ms
        return None

    def next_fire(self, after_ms: int, last_fire_ms: int | None) -> int | None:
        """The next fire time after ``after_ms``, at least :data:`MIN_INTERVAL_MS` after the last fire."""
        floor = after_ms if last_fire_ms is None else max(after_ms, last_fire_ms + MIN_INTERVAL_MS - 1)
        return self.next_after(floor)
