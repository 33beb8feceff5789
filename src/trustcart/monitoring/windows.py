"""Which windows a monitor evaluates: a fixed grid in UTC, so every run agrees on the bounds.

A window is the half-open interval ``[end − window, end)``; ends fall on whole multiples of
``step`` counted from 1970-01-01T00:00Z (a ``1d`` step ends windows at midnight UTC, ``1h`` on
the hour). Because the grid does not depend on when a run happens, two runs — or a cron job and
a loop — compute the same windows, and a stored window is never evaluated again. The *previous*
window of ``[s, e)`` is the adjacent disjoint one, ``[s − window, s)``, which is on the grid too
(``window`` is a multiple of ``step``) and shares no row with it, as the two-sample tests need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Window:
    """``[start, end)`` in aware UTC."""

    start: datetime
    end: datetime

    @property
    def previous(self) -> Window:
        """The adjacent disjoint window before this one."""
        length = self.end - self.start
        return Window(self.start - length, self.start)

    def to_dict(self) -> dict[str, str]:
        """ISO bounds."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def floor_to_step(t: datetime, step: timedelta) -> datetime:
    """The last grid point at or before ``t``."""
    seconds = (t - EPOCH) // timedelta(microseconds=1)
    unit = step // timedelta(microseconds=1)
    return EPOCH + timedelta(microseconds=(seconds // unit) * unit)


def due_windows(
    *,
    window: timedelta,
    step: timedelta,
    now: datetime,
    grace: timedelta,
    backfill: timedelta,
    after: datetime | None,
    first_data: datetime | None,
) -> list[Window]:
    """Complete windows not yet evaluated, oldest first.

    Complete: ``end ≤ now − grace`` (late rows of a finished window are not expected: the
    decision log stamps rows when it appends them; ``grace`` covers a batch committing).
    Not yet evaluated: ``end > after`` (the newest stored end). Not older than ``backfill``
    before ``now`` and, on a first run, not starting before the first row's grid point (no
    empty or partial history).
    """
    last = floor_to_step(now - grace, step)
    lower = now - backfill
    if after is not None:
        lower = max(lower, after)
    if first_data is not None and after is None:
        # the first window starts at the first row's grid point: no partial leading window,
        # whose few rows would make noisy (and alarming) rates
        lower = max(lower, floor_to_step(first_data, step) + window - step)
    first = floor_to_step(lower, step) + step
    out = []
    end = first
    while end <= last:
        out.append(Window(end - window, end))
        end += step
    return out
