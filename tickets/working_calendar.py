"""Working time on an SLA calendar: business hours on working days, where a working day is what the
administrator's overrides say, else what `chinesecalendar` says (China's statutory holidays and
make-up working days, 调休), else Monday to Friday.

`chinesecalendar` knows only the years the State Council has published (it raises NotImplementedError
for any other). For such a year the calendar falls back to weekends plus the overrides — a due time is
always computed — and remembers the year in `uncovered`, so that administrators can be told
(`tickets.sla.coverage`) until the package is upgraded.

Pure computation, no queries: the caller loads the calendar and its overrides once.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

# A target longer than this many calendar days of search is a configuration error, not a due time.
MAX_DAYS = 3 * 366


def statutory_year_covered(year: int) -> bool:
    """Whether `chinesecalendar` has China's holiday data for this year."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@dataclass
class WorkingCalendar:
    timezone: str
    work_start: time
    work_end: time
    statutory_holidays: bool = True
    overrides: dict[date, bool] = field(default_factory=dict)  # date -> is a working day
    uncovered: set[int] = field(default_factory=set)  # years computed on the weekend fallback

    def __post_init__(self) -> None:
        if not self.work_start < self.work_end:
            raise ValueError("working hours must end after they start")
        self.tz = ZoneInfo(self.timezone)

    @property
    def day_length(self) -> timedelta:
        return datetime.combine(date.min, self.work_end) - datetime.combine(date.min, self.work_start)

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if self.statutory_holidays:
            try:
                return chinese_calendar.is_workday(day)
            except NotImplementedError:
                self.uncovered.add(day.year)
        return day.weekday() < 5

    def _hours(self, day: date) -> tuple[datetime, datetime]:
        return datetime.combine(day, self.work_start, tzinfo=self.tz), datetime.combine(day, self.work_end, tzinfo=self.tz)

    def add(self, start: datetime, work: timedelta) -> datetime:
        """The instant at which `work` of working time has passed since `start` (counting from the
        next opening when `start` is outside business hours; ending at a closing time, not at the
        next opening)."""
        local = start.astimezone(self.tz)
        day, remaining = local.date(), work
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                opens, closes = self._hours(day)
                begin = max(opens, local)
                if begin < closes:
                    if remaining <= closes - begin:
                        return begin + remaining
                    remaining -= closes - begin
            day += timedelta(days=1)
            local = datetime.combine(day, time.min, tzinfo=self.tz)
        raise ValueError(f"no {work} of working time within {MAX_DAYS} days of {start.isoformat()}")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (zero when `end` is not after `start`)."""
        local, end = start.astimezone(self.tz), end.astimezone(self.tz)
        total = timedelta(0)
        day = local.date()
        while local < end:
            if self.is_working_day(day):
                opens, closes = self._hours(day)
                begin, stop = max(opens, local), min(closes, end)
                if begin < stop:
                    total += stop - begin
            day += timedelta(days=1)
            local = datetime.combine(day, time.min, tzinfo=self.tz)
        return total
