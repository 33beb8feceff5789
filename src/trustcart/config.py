"""Workspace settings: ``trustcart.toml`` overridden by ``TRUSTCART_*`` environment variables.

Why this shape: a workspace is a folder a DPO can commit to git (the toml holds no secret), while
deployments move the same workspace to PostgreSQL or inject the pseudonym key through the
environment. Typos are the commonest configuration bug, so unknown keys in the file *and* unknown
``TRUSTCART_*`` variables are errors, not silently ignored.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic import ValidationError as PydanticValidationError

from trustcart.errors import ConfigError, WorkspaceNotFound

CONFIG_FILE = "trustcart.toml"
DEFAULT_DB_FILE = "trustcart.db"
DEFAULT_SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret
ENV_PREFIX = "TRUSTCART_"
#: Variables with the prefix that are not settings (they locate the workspace or are for tests).
NON_SETTING_ENV = frozenset(
    {"TRUSTCART_WORKSPACE", "TRUSTCART_TEST_PG_URL", "TRUSTCART_API_KEY", "TRUSTCART_USER_PASSWORD"}
)


class Settings(BaseModel):
    """Validated settings of one workspace.

    ``database_url`` may be relative (``sqlite:///trustcart.db``): it is resolved against the
    workspace directory so a workspace can be moved or cloned as a folder.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    workspace: Path = Field(description="Workspace directory (where trustcart.toml lives).")
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_FILE}",
        description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://user@host/db.",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Key for keyed pseudonyms (HMAC). Prefer the environment."
    )
    secret_key_file: str = Field(
        default=DEFAULT_SECRET_FILE,
        description="File holding the pseudonym key when TRUSTCART_SECRET_KEY is not set.",
    )
    secret_keys: SecretStr | None = Field(
        default=None,
        description=(
            "Rotated pseudonym keys from the environment, as 'k1:SECRET,k2:SECRET' (each >= 32 "
            "characters); `trustcart privacy rotate-key` activates the newest unregistered one. "
            "Without it, rotated keys are 0600 files under keys/ in the workspace."
        ),
    )
    pseudonym_key_max_age_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description=(
            "The scanner flags a current pseudonym key older than this (a TrustCart default, "
            "not a legal period: no law fixes a rotation interval)."
        ),
    )
    default_jurisdiction: str = Field(
        default="EU", description="Jurisdiction code used when a subject's is unknown."
    )
    api_host: str = Field(default="127.0.0.1", description="Host `trustcart serve` binds to.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port of `trustcart serve`.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    consent_max_age_days: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Consent older than this many days no longer counts, per jurisdiction code "
            '(e.g. {EU = 395}); "*" applies to all others. A policy choice, not a legal fact.'
        ),
    )

    subject_identity: str = Field(
        default="customer_id",
        min_length=1,
        max_length=64,
        description=(
            "Which identifier the shop passes as `subject` to the consent ledger and the "
            "gateway; rights requests use it to reach those logs (an identity type of the data "
            "map's connectors, e.g. customer_id)."
        ),
    )
    rights_code_ttl_minutes: int = Field(
        default=30, ge=1, le=1440, description="How long a rights-request one-time code is valid."
    )
    rights_code_attempts: int = Field(
        default=5, ge=1, le=20, description="Wrong codes allowed before a new code is needed."
    )
    rights_codes_per_request: int = Field(
        default=5, ge=1, le=50, description="One-time codes a request may be sent in total."
    )

    public_rate_limit: str = Field(
        default="30/10s",
        description=(
            "Rate limit per client IP on the unauthenticated shopper endpoints (/privacy/api/*, "
            'POST /privacy/preferences), as "REQUESTS/SECONDSs" (e.g. "30/10s"); "off" disables.'
        ),
    )
    rate_limit_redis_url: str | None = Field(
        default=None,
        description=(
            "Redis URL (redis://host:6379/0) holding the public rate-limit buckets, so every "
            "worker process shares one limit per client; default: per process in memory."
        ),
    )
    public_rate_burst: int = Field(
        default=30,
        ge=1,
        le=100_000,
        description="Requests a client may send at once before the rate limit applies.",
    )

    serve_models: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Which registered model version `trustcart serve` uses per decision kind, as "
            '{price = "pricing-lgbm@3f2a9c01b7de"} or {price = "pricing-lgbm"} (its newest '
            "version); a kind not listed serves its newest model trained in the workspace."
        ),
    )
    serve_require_audit: bool = Field(
        default=False,
        description=(
            "Serve only model versions whose training data passed a fairness audit with no "
            "high-severity finding (`trustcart models list` shows the audit)."
        ),
    )

    gpp_us_approach: Literal["national", "state"] = Field(
        default="national",
        description=(
            'IAB GPP for US visitors (embed `data-gpp="on"`): the usnat section (national) or '
            "the visitor's state section, usca/usva/usco (state)."
        ),
    )
    gpp_mspa_covered_transaction: int = Field(
        default=2,
        ge=1,
        le=2,
        description=(
            "GPP MspaCoveredTransaction: 1 = the shop signed the IAB MSPA and this is a covered "
            "transaction, 2 = not (the default). Set it per your MSPA status."
        ),
    )
    gpp_mspa_opt_out_option_mode: int = Field(
        default=0,
        ge=0,
        le=2,
        description="GPP MspaOptOutOptionMode: 0 not applicable (default), 1 yes, 2 no.",
    )
    gpp_mspa_service_provider_mode: int = Field(
        default=0,
        ge=0,
        le=2,
        description="GPP MspaServiceProviderMode: 0 not applicable (default), 1 yes, 2 no.",
    )

    @field_validator("serve_models", mode="before")
    @classmethod
    def _serve_models(cls, value: Any) -> Any:
        if isinstance(value, str):  # from TRUSTCART_SERVE_MODELS='{"price": "pricing-lgbm"}'
            import json

            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(
                    'must be a JSON object such as {"price": "pricing-lgbm"}'
                ) from None
        if isinstance(value, dict):
            kinds = ("recommend", "rank", "price", "offer", "credit")
            for kind, ref in value.items():
                if kind not in kinds:
                    raise ValueError(f"{kind!r} is not a decision kind ({', '.join(kinds)})")
                name, _, version = str(ref).partition("@")
                if not name or "@" in version or (("@" in str(ref)) and not version):
                    raise ValueError(f"{kind}: {ref!r} is not NAME or NAME@VERSION")
        return value

    access_purpose_required: bool = Field(
        default=False,
        description=(
            "Refuse (422) a read of personal data through the API that states no purpose "
            "(X-Purpose header or access_purpose query); when false the role's standing "
            "purpose is logged instead."
        ),
    )
    review_four_eyes: bool = Field(
        default=False,
        description=(
            "Human review: a reviewer's verdict on a contested decision is a proposal until a "
            "second reviewer confirms it (four-eyes); only then is it final and the shopper told."
        ),
    )
    api_key_cache_seconds: float = Field(
        default=1.0,
        ge=0.0,
        le=60.0,
        description=(
            "Seconds an API server process reuses an API key it verified instead of looking it "
            "up again; a revoked key is refused at once by the process that revoked it and "
            "within this many seconds by every other process. 0 looks the key up on every call."
        ),
    )
    access_review_days: int = Field(
        default=90,
        ge=1,
        le=730,
        description="Days after which an API key must be re-approved or revoked (access review).",
    )
    unused_grant_days: int = Field(
        default=90,
        ge=1,
        le=730,
        description="A key holding personal-data scopes unused for this many days is flagged.",
    )
    training_required: list[str] = Field(
        default_factory=lambda: ["privacy_law", "ethical_ai"],
        max_length=20,
        description=(
            "Courses every person holding a key with personal-data scopes must have completed "
            '(comma-separated in the environment, e.g. "privacy_law,ethical_ai").'
        ),
    )
    training_validity_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="How long a completed course counts when its record gives no expiry date.",
    )
    require_ethics_approval: bool = Field(
        default=False,
        description=(
            "The gateway refuses (409) to serve a model version the ethics committee has not "
            "approved (`trustcart ethics review`)."
        ),
    )

    monitors_file: str = Field(
        default="monitors.yaml",
        min_length=1,
        description=(
            "YAML file (relative to the workspace) declaring the continuous monitors that "
            "`trustcart monitor run` evaluates (docs/monitoring.md)."
        ),
    )

    human_oversight_kinds: list[str] = Field(
        default_factory=lambda: ["credit"],
        max_length=5,
        description=(
            "Decision kinds whose model versions serve only after a person (dashboard account "
            "with role dpo, ethics or reviewer) approved them (`trustcart oversight approve`); "
            "default credit (EU AI Act Annex III 5(b), high-risk). Comma-separated in the "
            "environment; empty to switch off."
        ),
    )

    @field_validator("human_oversight_kinds", mode="before")
    @classmethod
    def _oversight_kinds(cls, value: Any) -> Any:
        if isinstance(value, str):  # TRUSTCART_HUMAN_OVERSIGHT_KINDS=credit,price
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            kinds = ("recommend", "rank", "price", "offer", "credit")
            for kind in value:
                if kind not in kinds:
                    raise ValueError(f"{kind!r} is not a decision kind ({', '.join(kinds)})")
            return list(dict.fromkeys(value))
        return value

    @field_validator("training_required", mode="before")
    @classmethod
    def _courses(cls, value: Any) -> Any:
        if isinstance(value, str):  # TRUSTCART_TRAINING_REQUIRED=privacy_law,ethical_ai
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            import re

            for course in value:
                if not isinstance(course, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", course):
                    raise ValueError(
                        f"course {course!r}: use lower-case letters, digits and '_' "
                        "(e.g. privacy_law)"
                    )
            return list(dict.fromkeys(value))
        return value

    @field_validator("public_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        text = value.strip().lower()
        if text == "off":
            return text
        requests, sep, window = text.partition("/")
        window = window.removesuffix("s")
        try:
            ok = bool(sep) and int(requests) >= 1 and 0 < float(window) <= 86_400
        except ValueError:
            ok = False
        if not ok:
            raise ValueError('must be "REQUESTS/SECONDSs" such as "30/10s", or "off"')
        return f"{int(requests)}/{window}s"

    def public_rate(self) -> tuple[float, float] | None:
        """``(requests, window seconds)`` of :attr:`public_rate_limit`, or ``None`` when off."""
        if self.public_rate_limit == "off":
            return None
        requests, _, window = self.public_rate_limit.partition("/")
        return float(requests), float(window.removesuffix("s"))

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError(
                "must start with 'sqlite:///' or 'postgresql+psycopg://' "
                f"(got {value.split(':', 1)[0]!r})"
            )
        return value

    @field_validator("consent_max_age_days", mode="before")
    @classmethod
    def _max_age(cls, value: Any) -> Any:
        if isinstance(value, str):  # from TRUSTCART_CONSENT_MAX_AGE_DAYS='{"EU": 395}'
            import json

            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError('must be a JSON object such as {"EU": 395}') from None
        if isinstance(value, dict):
            for code, days in value.items():
                if not isinstance(days, int) or days < 1:
                    raise ValueError(f"{code}: days must be a positive integer")
            return {str(k).upper(): v for k, v in value.items()}
        return value

    @field_validator("default_jurisdiction")
    @classmethod
    def _upper(cls, value: str) -> str:
        if not value or not value.replace("-", "").isalnum():
            raise ValueError("must be a jurisdiction code such as EU, UK, US-CA, BR, CA")
        return value.upper()

    @property
    def resolved_database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute against the workspace."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            path = self.database_url[len(prefix) :]
            if path and path != ":memory:" and not Path(path).is_absolute():
                return prefix + str((self.workspace / path).resolve())
        return self.database_url

    def pseudonym_key(self) -> bytes:
        """The HMAC key for pseudonyms: environment first, then the workspace key file."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.workspace / self.secret_key_file
        try:
            key = path.read_text().strip()
        except FileNotFoundError:
            raise ConfigError(
                f"no pseudonym key: set TRUSTCART_SECRET_KEY or create {path} "
                "(`trustcart init` writes one)"
            ) from None
        if len(key) < 32:
            raise ConfigError(f"pseudonym key in {path} is too short (need >= 32 characters)")
        return key.encode()


_FILE_KEYS = frozenset(Settings.model_fields) - {"workspace"}


def _env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    unknown: list[str] = []
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NON_SETTING_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key in _FILE_KEYS:
            overrides[key] = value
        else:
            unknown.append(name)
    if unknown:
        allowed = ", ".join(sorted(ENV_PREFIX + k.upper() for k in _FILE_KEYS))
        raise ConfigError(
            f"unknown environment variable(s) {', '.join(sorted(unknown))}; allowed: {allowed}",
            details={"unknown": sorted(unknown)},
        )
    return overrides


def _format_errors(exc: PydanticValidationError, source: str) -> ConfigError:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        if err["type"] == "extra_forbidden":
            msg = f"unknown key; allowed keys: {', '.join(sorted(_FILE_KEYS))}"
        else:
            msg = err["msg"]
        problems.append({"key": loc, "message": msg})
    text = "; ".join(f"{p['key']}: {p['message']}" for p in problems)
    return ConfigError(f"invalid settings in {source}: {text}", details=problems)


def load_settings(
    workspace: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``WORKSPACE/trustcart.toml`` and apply ``TRUSTCART_*`` overrides."""
    root = Path(workspace).resolve()
    path = root / CONFIG_FILE
    if not path.is_file():
        raise WorkspaceNotFound(
            f"no {CONFIG_FILE} in {root}; run `trustcart init {workspace}` to create a workspace "
            "or pass --workspace / set TRUSTCART_WORKSPACE"
        )
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    section = data.pop("trustcart", None)
    if data:
        raise ConfigError(
            f"{path}: unknown table(s) {', '.join(sorted(data))}; only [trustcart] is allowed"
        )
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: missing [trustcart] table")
    env = _env_overrides(os.environ if environ is None else environ)
    try:
        Settings.model_validate({**section, "workspace": root})
    except PydanticValidationError as exc:
        raise _format_errors(exc, str(path)) from None
    try:
        return Settings.model_validate({**section, **env, "workspace": root})
    except PydanticValidationError as exc:
        raise _format_errors(exc, "TRUSTCART_* environment variables") from None


def init_workspace(directory: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Create a workspace folder with ``trustcart.toml`` and a random pseudonym key file.

    The key lives in its own file (mode 0600), not in the toml, so the toml can be committed;
    ``TRUSTCART_SECRET_KEY`` replaces the file in deployments.
    """
    root = Path(directory).resolve()
    root.mkdir(parents=True, exist_ok=True)
    path = root / CONFIG_FILE
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; use --force to overwrite it")
    path.write_text(
        "# TrustCart workspace settings. Every key can be overridden by TRUSTCART_<KEY>.\n"
        "[trustcart]\n"
        f'database_url = "sqlite:///{DEFAULT_DB_FILE}"\n'
        'default_jurisdiction = "EU"\n'
        f'secret_key_file = "{DEFAULT_SECRET_FILE}"\n'
    )
    key_path = root / DEFAULT_SECRET_FILE
    if not key_path.exists():
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(f"{DEFAULT_SECRET_FILE}\n*.db\n*.db-wal\n*.db-shm\n*.db.writelock\n")
    return root
