"""Due dates from statutory periods.

Why three units: the GDPR counts in months (Art. 12(3): "within one month"), the CCPA regulations
count acknowledgements in business days (§7021(a): 10 business days) and most other laws in
calendar days. Getting month ends and weekends wrong either misses a legal deadline or reports a
false breach, so this is the one place the arithmetic lives.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from trustcart.rules.entries import Duration


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, clamped to the last day of the target month.

    Why clamp: a month-long period ends on the same date of the following month or, if that date
    does not exist, on the month's last day (EU Regulation 1182/71 Art. 3(2)(c), which the EDPB
    applies to GDPR deadlines). So 31 January + 1 month is 28 (or 29) February, never 3 March.
    """
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def add_business_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """The ``days``-th business day after ``start`` (Monday-Friday, not in ``holidays``).

    ``start`` itself is not counted: a request received on a Friday with 1 business day to
    answer is due on Monday (or Tuesday if Monday is a holiday).
    """
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def due_date(start: date, d: Duration, holidays: frozenset[date] = frozenset()) -> date:
    """The last day to act, counting ``d`` from ``start`` (the day of receipt, not counted).

    ``holidays`` only affects ``business_days`` periods. Calendar periods (days, months) are not
    moved off weekends or holidays: the law may allow the next working day, but answering by the
    earlier date is never late, so the conservative date is returned.
    """
    if d.unit == "months":
        return add_months(start, d.amount)
    if d.unit == "business_days":
        return add_business_days(start, d.amount, holidays)
    return start + timedelta(days=d.amount)
