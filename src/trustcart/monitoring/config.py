"""The monitors a workspace declares, in ``monitors.yaml`` (the ``monitors_file`` setting).

Why a YAML file beside ``trustcart.toml`` and not a toml table: a monitor is a small audit
specification with a list of metric rules, which reads better as YAML (like the data map), and
the toml stays the place for scalar settings. As in ``trustcart.toml``, a typo is an error that
names the key (``monitors[0].metrics[1].mn: unknown key``), never a silently ignored rule.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from trustcart.config import Settings
from trustcart.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

#: Metrics each audit kind reports per group (``cell.metrics``) and as a summary
#: (``result.metrics``); a rule names one of them. Definitions: docs/fairness.md.
GROUP_METRICS: dict[str, frozenset[str]] = {
    "binary": frozenset(
        {
            "selection_rate",
            "disparate_impact_ratio",
            "selection_rate_difference",
            "true_positive_rate",
            "false_positive_rate",
        }
    ),
    "continuous": frozenset(
        {
            "mean",
            "median",
            "p10",
            "p90",
            "sd",
            "mean_ratio",
            "mean_difference",
            "standardized_mean_difference",
        }
    ),
    "ranking": frozenset(
        {
            "mean_exposure",
            "share_of_exposure",
            "share_of_impressions",
            "exposure_ratio",
        }
    ),
}
SUMMARY_METRICS: dict[str, frozenset[str]] = {
    "binary": frozenset(
        {
            "demographic_parity_difference",
            "demographic_parity_ratio",
            "disparate_impact_ratio",
            "true_positive_rate_difference",
            "false_positive_rate_difference",
            "equal_opportunity_difference",
            "equalized_odds_difference",
        }
    ),
    "continuous": frozenset(
        {
            "mean_difference",
            "mean_ratio",
            "standardized_mean_difference",
            "ks_statistic",
            "pooled_sd",
        }
    ),
    "ranking": frozenset({"exposure_ratio", "exposure_difference"}),
}
#: The per-group metric whose change between windows a test in ``fairness.stats`` can judge.
CHANGE_METRICS: dict[str, str] = {
    "binary": "selection_rate",
    "continuous": "mean",
    "ranking": "mean_exposure",
}


def parse_duration(value: str | int | timedelta, what: str = "duration") -> timedelta:
    """``"7d"``, ``"1h"``, ``"30m"``, ``"2w"``, ``"90s"`` (or seconds as an int) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return timedelta(seconds=value)
    m = _DURATION.match(str(value)) if isinstance(value, str) else None
    if m is None or int(m.group(1)) <= 0:
        raise ValueError(
            f"{what} {value!r} is not a duration: use a positive number and a unit s, m, h, d "
            "or w (e.g. 7d, 1h, 30m)"
        )
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def format_duration(value: timedelta) -> str:
    """The shortest ``N<unit>`` spelling of a duration (``timedelta(days=7)`` → ``1w``)."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChangeRule(_Strict):
    """A significant change of the group's rate (or mean) against the previous window.

    Both conditions must hold: the Holm-adjusted p-value of the two-sample test is below
    ``alpha`` (significant) and the absolute difference is at least ``min_change`` (material,
    in the metric's unit: 0.05 is 5 points of a rate). Why a small default ``alpha``: a monitor
    repeats the test at every step for every group, so at 0.05 a perfectly stable series would
    alarm every few weeks. Defaults are TrustCart defaults, not law.
    """

    alpha: float = Field(default=0.001, gt=0, lt=1)
    min_change: float = Field(default=0.05, ge=0)


class MetricRule(_Strict):
    """A metric to watch, with its threshold(s) and optional change detection."""

    metric: str = Field(min_length=1, max_length=64)
    scope: Literal["group", "summary"] | None = Field(
        default=None,
        description="Per group, or the audit's summary; default: per group when the kind "
        "reports the metric per group.",
    )
    min: float | None = None
    max: float | None = None
    require_significance: bool = Field(
        default=False,
        description="A group crossing the threshold counts only if the audit's test of that "
        "group against the reference group is significant (Holm-adjusted p < alpha).",
    )
    change: ChangeRule | None = None

    @field_validator("change", mode="before")
    @classmethod
    def _change_true(cls, value: Any) -> Any:
        if value is True:
            return {}
        if value is False:
            return None
        return value

    @model_validator(mode="after")
    def _bounds(self) -> MetricRule:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if self.min is None and self.max is None and self.change is None:
            raise ValueError("give a threshold (min and/or max) or change detection (change)")
        return self


class MonitorSpec(_Strict):
    """One monitor: an audit specification evaluated over sliding windows of time."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    source: str = Field(default="decisions", min_length=1)
    table: str | None = None
    time_column: str = Field(default="created_at", min_length=1)
    groups: list[str] = Field(min_length=1, max_length=4)
    outcome: str = Field(min_length=1)
    kind: Literal["binary", "continuous", "ranking"] = "binary"
    label: str | None = None
    position: str | None = None
    favourable: Literal["higher", "lower"] = "higher"
    min_group_size: int = Field(default=30, ge=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    window: timedelta
    step: timedelta
    backfill: timedelta = Field(default=timedelta(days=30))
    grace: timedelta = Field(default=timedelta(minutes=5))
    clear_after: int | None = Field(default=None, ge=1, le=1000)
    metrics: list[MetricRule] = Field(min_length=1)

    @field_validator("window", "step", "backfill", "grace", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, int | str) and not isinstance(value, bool):
            return parse_duration(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MonitorSpec:
        if self.step > self.window:
            raise ValueError(
                f"step ({format_duration(self.step)}) is longer than the window "
                f"({format_duration(self.window)}): some time would never be evaluated"
            )
        if self.window.total_seconds() % self.step.total_seconds():
            raise ValueError(
                f"window ({format_duration(self.window)}) must be a whole multiple of step "
                f"({format_duration(self.step)}), so the previous window is on the same grid"
            )
        if self.step < timedelta(minutes=1):
            raise ValueError("step must be at least 1m")
        if self.source.split(":", 1)[0] != "decisions" and "time_column" not in (
            self.model_fields_set
        ):
            raise ValueError(
                "time_column is required for a source other than the decision log "
                "(the column holding each row's time)"
            )
        if len(set(self.groups)) != len(self.groups):
            raise ValueError("a group column is named twice")
        seen: set[tuple[str, str]] = set()
        for i, rule in enumerate(self.metrics):
            per_group, summary = GROUP_METRICS[self.kind], SUMMARY_METRICS[self.kind]
            known = sorted(per_group | summary)
            if rule.metric not in per_group | summary:
                raise ValueError(
                    f"metrics[{i}]: {rule.metric!r} is not a {self.kind} metric; "
                    f"choose one of: {', '.join(known)}"
                )
            scope = rule.scope or ("group" if rule.metric in per_group else "summary")
            if scope == "group" and rule.metric not in per_group:
                raise ValueError(f"metrics[{i}]: {rule.metric!r} has no per-group value")
            if scope == "summary" and rule.metric not in summary:
                raise ValueError(f"metrics[{i}]: {rule.metric!r} has no summary value")
            if rule.change is not None and (
                scope != "group" or rule.metric != CHANGE_METRICS[self.kind]
            ):
                raise ValueError(
                    f"metrics[{i}]: change detection applies to the per-group "
                    f"{CHANGE_METRICS[self.kind]!r} of a {self.kind} monitor (the statistic "
                    "a two-sample test can judge)"
                )
            if (rule.metric, scope) in seen:
                raise ValueError(f"metrics[{i}]: {rule.metric!r} ({scope}) is listed twice")
            seen.add((rule.metric, scope))
        return self

    def scope_of(self, rule: MetricRule) -> str:
        """``group`` or ``summary``: where the rule's metric is read."""
        return rule.scope or ("group" if rule.metric in GROUP_METRICS[self.kind] else "summary")

    @property
    def windows_to_clear(self) -> int:
        """Clean windows in a row that close an alert: ``clear_after``, by default as many as
        one window holds steps (the window has then fully rolled past the drift)."""
        if self.clear_after is not None:
            return self.clear_after
        return max(1, int(self.window.total_seconds() // self.step.total_seconds()))

    def config_hash(self) -> str:
        """sha256 of the canonical spec: results say which configuration produced them."""
        doc = self.model_dump(mode="json")
        return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (API, CLI), durations spelled as in the file."""
        d = self.model_dump(mode="json", exclude_none=True)
        for key in ("window", "step", "backfill", "grace"):
            d[key] = format_duration(getattr(self, key))
        d["clear_after"] = self.windows_to_clear
        return d


class WebhookConfig(_Strict):
    """Where alerts are POSTed, signed like the rights webhooks (docs/monitoring.md)."""

    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0, le=60)

    @field_validator("secret_env")
    @classmethod
    def _not_a_setting(cls, value: str) -> str:
        if value.upper().startswith("TRUSTCART_"):
            raise ValueError(
                "choose a variable name without the TRUSTCART_ prefix (those are settings, "
                "and an unknown TRUSTCART_* variable is an error), e.g. MONITOR_WEBHOOK_SECRET"
            )
        return value


class AlertsConfig(_Strict):
    """Where alerts go besides the hash-chained ``monitor_alerts`` log and its table."""

    outbox: bool = True
    recipient: str = Field(default="dpo", min_length=1, max_length=320)
    webhook: WebhookConfig | None = None
    notify_recoveries: bool = False


class MonitorsFile(_Strict):
    """The whole ``monitors.yaml``."""

    version: Literal[1] = 1
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    monitors: list[MonitorSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> MonitorsFile:
        names = [m.name for m in self.monitors]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"monitor name(s) used twice: {', '.join(dupes)}")
        return self

    def get(self, name: str) -> MonitorSpec:
        """The monitor called ``name``, or a NotFound listing the declared ones."""
        from trustcart.errors import NotFound

        for m in self.monitors:
            if m.name == name:
                return m
        raise NotFound(
            f"no monitor {name!r}; declared: {', '.join(m.name for m in self.monitors) or 'none'}"
        )


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def parse_monitors(data: Any, source: str = "monitors.yaml") -> MonitorsFile:
    """Validate a parsed document; a ConfigError names each wrong key and says what to fix."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with 'monitors:' at the top")
    try:
        return MonitorsFile.model_validate(data)
    except PydanticValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _loc(tuple(err["loc"]))
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            msg = msg.removeprefix("Value error, ")
            problems.append({"key": loc, "message": msg})
        text = "; ".join(f"{p['key']}: {p['message']}" for p in problems)
        raise ConfigError(f"invalid monitors in {source}: {text}", details=problems) from None


def monitors_path(settings: Settings) -> Path:
    """The monitors file of a workspace (``monitors_file``, relative to the workspace)."""
    path = Path(settings.monitors_file)
    return path if path.is_absolute() else settings.workspace / path


def load_monitors(settings: Settings, *, required: bool = False) -> MonitorsFile:
    """The workspace's monitors; an absent file declares none (or is an error if required)."""
    path = monitors_path(settings)
    if not path.is_file():
        if required:
            raise ConfigError(
                f"no monitors file {path}: declare monitors there (docs/monitoring.md) or set "
                "monitors_file in trustcart.toml"
            )
        return MonitorsFile()
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return parse_monitors(data, str(path))
