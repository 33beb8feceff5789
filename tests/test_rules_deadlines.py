"""Due-date arithmetic: calendar months clamp to month end; business days skip weekends/holidays."""

from __future__ import annotations

from datetime import date

import pytest

from trustcart.rules import Duration, due_date, load_rules


def d(amount: int, unit: str) -> Duration:
    return Duration.model_validate({"amount": amount, "unit": unit})


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # clamp, non-leap year
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # clamp, leap year
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),  # year rollover
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # GDPR 1 + 2 months across the year end
        (date(2026, 1, 31), 13, date(2027, 2, 28)),
    ],
)
def test_months(start: date, months: int, expected: date) -> None:
    assert due_date(start, d(months, "months")) == expected


def test_calendar_days() -> None:
    assert due_date(date(2026, 1, 1), d(45, "days")) == date(2026, 2, 15)
    assert due_date(date(2026, 12, 20), d(15, "days")) == date(2027, 1, 4)


def test_calendar_periods_ignore_holidays() -> None:
    holidays = frozenset({date(2026, 2, 15)})
    assert due_date(date(2026, 1, 1), d(45, "days"), holidays) == date(2026, 2, 15)


def test_business_days_across_weekend() -> None:
    friday = date(2026, 11, 27)
    assert friday.weekday() == 4
    assert due_date(friday, d(1, "business_days")) == date(2026, 11, 30)  # Monday
    assert due_date(friday, d(3, "business_days")) == date(2026, 12, 2)  # Wednesday


def test_business_days_across_weekend_and_holiday() -> None:
    wednesday = date(2026, 11, 25)
    thanksgiving = date(2026, 11, 26)
    day_after = date(2026, 11, 27)
    plain = due_date(wednesday, d(3, "business_days"))
    assert plain == date(2026, 11, 30)  # Thu, Fri, Mon
    with_holidays = due_date(wednesday, d(3, "business_days"), frozenset({thanksgiving, day_after}))
    assert with_holidays == date(2026, 12, 2)  # Mon, Tue, Wed


def test_ccpa_acknowledgement_ten_business_days() -> None:
    ack = load_rules().resolve("US-CA").deadline.acknowledge
    assert ack is not None
    assert due_date(date(2026, 12, 1), ack) == date(2026, 12, 15)  # Tue -> two weeks later


def test_gdpr_deadline_from_rules() -> None:
    dl = load_rules().resolve("DE").deadline
    assert dl.max_total is not None
    start = date(2026, 1, 31)
    assert due_date(start, dl.response) == date(2026, 2, 28)
    assert due_date(start, dl.max_total) == date(2026, 4, 30)


def test_duration_must_be_positive() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        d(0, "days")


def test_duration_str() -> None:
    assert str(d(1, "months")) == "1 month"
    assert str(d(10, "business_days")) == "10 business days"
