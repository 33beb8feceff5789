"""Guardrails: limits applied to a model's answer after the call, each action recorded.

Price: the final price stays within ``[floor_ratio, ceiling_ratio] × list price``, within
``max_deviation`` of list price, and within per-group ratio bounds when configured (e.g. a
group that must never pay above list). Offer: an offer is not withheld from a group whose
running offer rate would fall below ``min_rate_ratio`` × the best-served group's rate — the
four-fifths rule of thumb (29 CFR 1607.4(D)) applied online. The offer guardrail is simple on
purpose: counters are per process and start after ``min_decisions`` decisions per group; the
fairness audits over the decision log remain the authoritative check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """Round to cents (half up), the unit prices are shown in."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class GuardrailAction:
    """One change a guardrail made: which, from what to what, and why."""

    guardrail: str
    before: str
    after: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (decision log)."""
        return {
            "guardrail": self.guardrail,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class PriceGuardrails:
    """Bounds on a personalised price, as ratios of list price.

    ``group_key`` names a context value (e.g. ``customer_group``) used only by the guardrail,
    never passed to the model; ``group_bounds`` maps its values to ``(low, high)`` ratios.
    """

    floor_ratio: float = 0.80
    ceiling_ratio: float = 1.25
    max_deviation: float = 0.10
    group_key: str | None = None
    group_bounds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.floor_ratio <= 1 <= self.ceiling_ratio:
            raise ValueError("need 0 < floor_ratio <= 1 <= ceiling_ratio")
        if self.max_deviation < 0:
            raise ValueError("max_deviation must be >= 0")
        for g, (lo, hi) in self.group_bounds.items():
            if not 0 < lo <= hi:
                raise ValueError(f"group {g!r}: need 0 < low <= high")

    def apply(
        self, list_price: Decimal, proposed: Decimal, group: str | None
    ) -> tuple[Decimal, list[GuardrailAction]]:
        """Clamp ``proposed``; return the final price and what was changed."""
        actions: list[GuardrailAction] = []
        price = proposed
        limits = [
            ("floor", Decimal(str(self.floor_ratio)), None, "floor_ratio"),
            ("ceiling", None, Decimal(str(self.ceiling_ratio)), "ceiling_ratio"),
            (
                "max_deviation",
                Decimal(1) - Decimal(str(self.max_deviation)),
                Decimal(1) + Decimal(str(self.max_deviation)),
                "max_deviation",
            ),
        ]
        if group is not None and group in self.group_bounds:
            lo, hi = self.group_bounds[group]
            limits.append(("group_bounds", Decimal(str(lo)), Decimal(str(hi)), f"group {group}"))
        for name, lo_r, hi_r, what in limits:
            before = price
            if lo_r is not None and price < money(list_price * lo_r):
                price = money(list_price * lo_r)
                why = f"below {lo_r}× list price ({what})"
            elif hi_r is not None and price > money(list_price * hi_r):
                price = money(list_price * hi_r)
                why = f"above {hi_r}× list price ({what})"
            else:
                continue
            actions.append(GuardrailAction(name, str(before), str(price), why))
        return price, actions


@dataclass
class OfferGuardrail:
    """Do not withhold an offer from a group already served below ``min_rate_ratio`` × the best
    group's offer rate (four-fifths rule, 29 CFR 1607.4(D) — a rule of thumb, not proof).

    The counts are global: the gateway feeds in every offer decision logged by any process
    (:meth:`absorb`, on its regular poll of the store), so two API workers — or a restarted
    one — judge the same rates; decisions this process took since the last poll are counted
    locally until the log returns them.
    """

    group_key: str | None = None
    min_rate_ratio: float = 0.8
    min_decisions: int = 20
    #: group -> offers judged / offers made: the log's counts plus this process's since the
    #: last :meth:`absorb` (kept apart in ``_local_*`` so the log's copy can replace them).
    _seen: dict[str, int] = field(default_factory=dict)
    _made: dict[str, int] = field(default_factory=dict)
    _local_seen: dict[str, int] = field(default_factory=dict)
    _local_made: dict[str, int] = field(default_factory=dict)
    synced_seq: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def absorb(self, counts: dict[str, tuple[int, int]], upto_seq: int) -> None:
        """Add logged offer decisions (``group -> (seen, made)``, log positions up to
        ``upto_seq``) and drop the local counts they now include."""
        with self._lock:
            for total, local in ((self._seen, self._local_seen), (self._made, self._local_made)):
                for group, n in local.items():
                    total[group] -= n  # the log's copy of them arrives now or at the next poll
                local.clear()
            for group, (seen, made) in counts.items():
                self._seen[group] = self._seen.get(group, 0) + seen
                self._made[group] = self._made.get(group, 0) + made
            self.synced_seq = max(self.synced_seq, upto_seq)

    def counts(self) -> dict[str, tuple[int, int]]:
        """``group -> (seen, made)`` as the guardrail judges them now."""
        with self._lock:
            return {g: (n, self._made.get(g, 0)) for g, n in self._seen.items() if n}

    def apply(self, group: str | None, offered: bool) -> tuple[bool, GuardrailAction | None]:
        """Possibly turn "no offer" into "offer"; update the running counts."""
        if group is None or self.group_key is None:
            return offered, None
        action = None
        with self._lock:
            if not offered and self._seen.get(group, 0) >= self.min_decisions:
                rates = {
                    g: self._made.get(g, 0) / n
                    for g, n in self._seen.items()
                    if n >= self.min_decisions
                }
                best = max(rates.values(), default=0.0)
                mine = rates.get(group, 0.0)
                if best > 0 and mine < self.min_rate_ratio * best:
                    offered = True
                    action = GuardrailAction(
                        "offer_disparity",
                        "no offer",
                        "offer",
                        f"group {group} offer rate {mine:.2f} is below {self.min_rate_ratio} × "
                        f"the best group's {best:.2f} (29 CFR 1607.4(D))",
                    )
            for counter in (self._seen, self._local_seen) + (
                (self._made, self._local_made) if offered else ()
            ):
                counter[group] = counter.get(group, 0) + 1
        return offered, action


@dataclass(frozen=True)
class OfferRules:
    """Which offer the ``offer`` kind makes: ``offer`` when the score reaches ``threshold``;
    ``default`` (possibly none) when personalisation is not allowed.

    ``high_pressure`` marks the offer as high-pressure (countdowns, "last chance" credit-like
    deals): people in a vulnerable segment never get it (EU AI Act Art. 5(1)(b)).
    ``audience_key`` names a context flag saying whether the subject is in the campaign's
    audience: a subject outside it gets no offer from the model, but the offer-disparity
    guardrail above still overrides an exclusion that would leave their group below
    ``min_rate_ratio`` × the best group's offer rate — so no group is excluded beyond the
    configured disparity at decision time.
    """

    offer: str = "voucher"
    threshold: float = 0.5
    default: str | None = None
    high_pressure: bool = False
    audience_key: str | None = None
