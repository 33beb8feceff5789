"""``trustcart monitor run --every 1h``: a plain loop, for hosts without cron or systemd.

Why no scheduler library: a pass is idempotent per window and knows from the store what is
due, so the loop needs no job store, no missed-run bookkeeping and no concurrency control —
only "sleep until the next multiple of ``every``, run, repeat", and a clean stop on SIGTERM.
Production hosts should prefer the cron line or systemd timer in docs/monitoring.md (restarts,
logs and overlap handling come from the host); both schedules can even run at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType

from trustcart.clock import utcnow
from trustcart.monitoring.windows import floor_to_step


def next_tick(now: datetime, every: timedelta) -> datetime:
    """The next multiple of ``every`` (since 1970-01-01 UTC) strictly after ``now``."""
    return floor_to_step(now, every) + every


def run_every(
    every: timedelta,
    run_once: Callable[[], None],
    *,
    stop: threading.Event | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    max_passes: int | None = None,
    wait: Callable[[float], object] | None = None,
) -> int:
    """Run ``run_once`` now and then at every multiple of ``every``, until ``stop`` is set
    (SIGTERM and SIGINT set it when called from the main thread). Returns the passes run.

    An error in one pass is reported through ``on_error`` and the loop goes on: a database
    that is briefly down must not end monitoring. ``wait(seconds)`` sleeps between passes
    (default: ``stop.wait``, which a signal cuts short).
    """
    stop = stop or threading.Event()
    pause = wait or stop.wait
    if threading.current_thread() is threading.main_thread():

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    passes = 0
    while not stop.is_set():
        try:
            run_once()
        except Exception as exc:
            if on_error is None:
                raise
            on_error(exc)
        passes += 1
        if max_passes is not None and passes >= max_passes:
            break
        seconds = (next_tick(utcnow(), every) - utcnow()).total_seconds()
        pause(max(0.0, seconds) + 1.0)  # one second past the tick: the window is complete
    return passes
