"""The data map: what personal data a shop holds, where, why, and who receives it.

Why one typed model: the RoPA, the privacy notice, the data-flow graph, the gateway's feature
gating and the rights connectors all read the same map, so its shape is checked once, here.
Only facts a person must decide are typed by hand; anything that follows from them
(sensitivity, transfers) is derived by :mod:`trustcart.catalog.sensitivity` and
:mod:`trustcart.catalog.transfers`, so it can never drift from the map.

Structural rules (types, formats, country codes) are enforced by pydantic; rules that span
objects (references, taxonomy keys, duplicates) by :mod:`trustcart.catalog.validation`, because
they need the whole map and must all be reported together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from trustcart.catalog.primitives import (
    CountryCode,
    Domain,
    Duration,
    Email,
    JurisdictionCode,
    Key,
    LegalBasis,
    RecipientType,
    duration_ok,
)
from trustcart.catalog.taxonomy import Taxonomy, TaxonomyEntry, TaxonomyKind

if TYPE_CHECKING:
    from trustcart.catalog.sensitivity import Sensitivity
    from trustcart.catalog.summary import InventorySummary
    from trustcart.catalog.transfers import Transfer
    from trustcart.catalog.validation import Problem
    from trustcart.rules import Rules

#: ``from`` value of a flow that starts at the person the data is about.
DATA_SUBJECT = "data_subject"

ObjectKind = Literal[
    "organization",
    "data_category",
    "data_use",
    "data_subject",
    "purpose",
    "system",
    "dataset",
    "recipient",
    "flow",
]
#: Order in which :meth:`DataMap.objects` yields kinds (referenced kinds first): the order of
#: the ``ObjectKind`` literal, which is kept in that order.
OBJECT_KINDS: tuple[ObjectKind, ...] = get_args(ObjectKind)
ORGANIZATION_KEY = "organization"


class _Model(BaseModel):
    """Strict base: unknown keys are errors (a typo must not silently drop a fact)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


# --- organization -----------------------------------------------------------------------------


class Contact(_Model):
    """A named contact point (DPO, privacy team)."""

    name: str
    email: Email


class Party(_Model):
    """A legal person with a postal address: the controller or its EU representative."""

    name: str
    address: str
    email: Email


class Organization(_Model):
    """The controller and where it operates; feeds RoPA Art. 30(1)(a) and the notice header."""

    name: str
    controller: Party
    dpo: Contact | None = None
    eu_representative: Party | None = None
    establishment_country: CountryCode
    jurisdictions: list[JurisdictionCode] = Field(min_length=1)
    preference_center_url: str | None = None


# --- taxonomy extensions ----------------------------------------------------------------------


class TaxonomyExtension(_Model):
    """A user-defined taxonomy node; its key must extend its parent's (``parent.child``)."""

    key: Key
    parent_key: str | None = None
    name: str
    description: str = ""


class TaxonomyExtensions(_Model):
    """Keys the shop adds to fideslang's default taxonomy."""

    data_categories: list[TaxonomyExtension] = Field(default_factory=list)
    data_uses: list[TaxonomyExtension] = Field(default_factory=list)
    data_subjects: list[TaxonomyExtension] = Field(default_factory=list)

    def entries(self) -> list[tuple[TaxonomyKind, TaxonomyEntry]]:
        """All extensions as taxonomy entries."""
        out: list[tuple[TaxonomyKind, TaxonomyEntry]] = []
        for kind, items in self.by_kind().items():
            for ext in items:
                entry = TaxonomyEntry(ext.key, ext.parent_key, ext.name, ext.description, True)
                out.append((kind, entry))
        return out

    def by_kind(self) -> dict[TaxonomyKind, list[TaxonomyExtension]]:
        """Lists keyed by taxonomy kind."""
        return {
            "data_category": self.data_categories,
            "data_use": self.data_uses,
            "data_subject": self.data_subjects,
        }


# --- purposes ---------------------------------------------------------------------------------


class AutomatedDecisionMaking(_Model):
    """Whether a purpose takes decisions about people by automated means, and how.

    ``logic`` and ``significance`` become the notice's "meaningful information about the logic
    involved, as well as the significance and the envisaged consequences".
    """

    enabled: bool = False
    logic: str | None = None
    significance: str | None = None

    @model_validator(mode="after")
    def _logic_when_enabled(self) -> Self:
        if self.enabled and not self.logic:
            raise ValueError("automated decision-making is enabled: describe its 'logic'")
        return self


class Purpose(_Model):
    """A processing activity: one RoPA entry and one notice section."""

    key: Key
    name: str
    description: str
    data_use: str
    legal_basis: dict[JurisdictionCode, LegalBasis] = Field(default_factory=dict)
    data_subjects: list[str] = Field(default_factory=lambda: ["customer"])
    retention: Duration | None = None
    automated_decision_making: AutomatedDecisionMaking = Field(
        default_factory=AutomatedDecisionMaking
    )


# --- systems, datasets, recipients, flows ----------------------------------------------------

StorageKind = Literal["cookie", "local_storage"]
SESSION = "session"


class CookieDeclaration(_Model):
    """A cookie or local-storage key a system or recipient sets in the shopper's browser.

    Why in the data map: a cookie is personal-data processing with a purpose and a lifetime
    (the notice must say both), and ``trustcart scan-site`` compares what the pages really store
    with these declarations. ``name`` may end in ``*`` (a prefix, e.g. ``_mtr_*``).
    ``lifetime`` is an ISO-8601 duration or ``session``; it is required for cookies and
    optional for local storage (which has no expiry of its own).
    """

    name: str = Field(min_length=1, max_length=200)
    purpose: str
    lifetime: str | None = None
    storage: StorageKind = "cookie"
    description: str = ""

    @model_validator(mode="after")
    def _lifetime(self) -> Self:
        if self.lifetime is None:
            if self.storage == "cookie":
                raise ValueError(
                    f"cookie {self.name!r}: declare its 'lifetime' (ISO-8601 duration such as "
                    "'P13M', or 'session')"
                )
            return self
        if self.lifetime != SESSION and not duration_ok(self.lifetime):
            raise ValueError(
                f"cookie {self.name!r}: invalid lifetime {self.lifetime!r}: use an ISO-8601 "
                "duration such as 'P13M', 'P30D', or 'session'"
            )
        return self

    def matches(self, name: str) -> bool:
        """Whether a stored key called ``name`` is this declaration (``*`` = any suffix)."""
        if self.name.endswith("*"):
            return name.startswith(self.name[:-1])
        return name == self.name


class Vendor(_Model):
    """Who runs a system on the shop's behalf; ``None`` on a system means in-house."""

    name: str
    country: CountryCode
    dpa_signed: bool = False
    transfer_safeguard: str | None = None


class System(_Model):
    """An application or service that processes personal data."""

    key: Key
    name: str
    description: str = ""
    owner: str
    hosting_country: CountryCode
    vendor: Vendor | None = None
    purposes: list[str] = Field(default_factory=list)
    security_measures: list[str] = Field(default_factory=list)
    domains: list[Domain] = Field(
        default_factory=list,
        description="Hosts the shop's pages contact for this system (a.example, *.a.example)",
    )
    cookies: list[CookieDeclaration] = Field(default_factory=list)


class DatasetField(_Model):
    """A column or attribute; the unit at which categories and sensitivity are known."""

    name: str
    description: str = ""
    data_categories: list[str] = Field(min_length=1)
    data_subject: str = "customer"
    purposes: list[str] | None = None
    identifying: bool = False


EraseStrategy = Literal["delete", "mask", "pseudonymize"]
ConnectorType = Literal["sql", "file", "webhook"]


class Connector(_Model):
    """How rights requests and retention reach a dataset's rows.

    Why in the data map: the map already says which fields identify a person and how long rows
    may be kept; declaring the way in next to them means an erasure or an access request reaches
    every store the map lists, and a store without a connector is visible (and flagged) instead
    of silently skipped.

    - ``sql``: ``url`` is a SQLAlchemy URL (default: the dataset's ``location``); ``${VAR}``
      is replaced from the environment so passwords stay out of the manifest; ``table``
      defaults to the dataset key.
    - ``file``: a Parquet or CSV file, or a folder of Parquet files (``path``, default the
      dataset's ``location``; relative paths are relative to the workspace). Rewritten via
      DuckDB into a temporary file that atomically replaces the original.
    - ``webhook``: a vendor endpoint that receives a signed request (HMAC-SHA256 with the
      secret in the environment variable ``secret_env``) and answers now or calls back.
    """

    type: ConnectorType
    url: str | None = None
    table: str | None = None
    path: str | None = None
    identities: dict[str, str] = Field(
        default_factory=dict,
        description="Identity type (e.g. email, customer_id) -> column; default: identity_keys",
    )
    erase: EraseStrategy = "delete"
    mask_fields: list[str] = Field(
        default_factory=list,
        description="Fields set to NULL by erase: mask (default: every non-identity field)",
    )
    timestamp: str | None = Field(
        default=None, description="Column with the row's time; retention counts from it"
    )
    links_identities: bool = Field(
        default=False,
        description=(
            "Rows here link a person's identifiers (e.g. customer_id <-> email), so a request "
            "naming one finds the others; only set it on authoritative tables (a CRM), never on "
            "ones where an identifier can be shared (a household device)"
        ),
    )
    endpoint: str | None = None
    secret_env: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)


class Dataset(_Model):
    """A table, collection or file held by a system."""

    key: Key
    name: str
    description: str = ""
    system: str
    location: str
    retention: Duration | None = None
    identity_keys: list[str] = Field(default_factory=list)
    fields: list[DatasetField] = Field(default_factory=list)
    connector: Connector | None = None

    def identity_columns(self) -> dict[str, str]:
        """Identity type -> column for rights requests (the connector's, else identity_keys)."""
        if self.connector is not None and self.connector.identities:
            return dict(self.connector.identities)
        return {k: k for k in self.identity_keys}

    def field(self, name: str) -> DatasetField | None:
        """The field called ``name``, if any."""
        return next((f for f in self.fields if f.name == name), None)


class Recipient(_Model):
    """Someone outside the shop's own systems who receives personal data (Art. 30(1)(d))."""

    key: Key
    name: str
    description: str = ""
    type: RecipientType
    country: CountryCode
    purposes: list[str] = Field(default_factory=list)
    transfer_safeguard: str | None = None
    domains: list[Domain] = Field(
        default_factory=list,
        description="Hosts the shop's pages contact for this recipient (a.example, *.a.example)",
    )
    cookies: list[CookieDeclaration] = Field(default_factory=list)


class Flow(_Model):
    """Data moving from a subject or system to a system or recipient for one purpose.

    ``key`` may be omitted; it is then derived from the ends and the purpose so that re-loading the
    same manifest upserts the same flow.
    """

    key: str = ""
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    data_categories: list[str] = Field(min_length=1)
    purpose: str
    description: str = ""
    transfer_safeguard: str | None = None

    @model_validator(mode="after")
    def _derive_key(self) -> Self:
        if not self.key:
            self.key = f"{self.source}->{self.target}:{self.purpose}"
        return self


# --- the map ----------------------------------------------------------------------------------

_SECTIONS: dict[ObjectKind, tuple[str, type[_Model]]] = {
    "purpose": ("purposes", Purpose),
    "system": ("systems", System),
    "dataset": ("datasets", Dataset),
    "recipient": ("recipients", Recipient),
    "flow": ("flows", Flow),
}
_TAXONOMY_SECTIONS: dict[ObjectKind, str] = {
    "data_category": "data_categories",
    "data_use": "data_uses",
    "data_subject": "data_subjects",
}


class DataMap(_Model):
    """The whole data map of one controller.

    Constructing it checks structure only; :meth:`check` (called by the loader,
    :meth:`merge` and :meth:`from_objects`) checks that every reference resolves.
    """

    manifest_version: Literal[1] = 1
    organization: Organization | None = None
    taxonomy: TaxonomyExtensions = Field(default_factory=TaxonomyExtensions)
    purposes: list[Purpose] = Field(default_factory=list)
    systems: list[System] = Field(default_factory=list)
    datasets: list[Dataset] = Field(default_factory=list)
    recipients: list[Recipient] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)

    # -- lookups --

    def taxonomy_index(self) -> Taxonomy:
        """fideslang defaults plus this map's extensions."""
        return Taxonomy(self.taxonomy.entries())

    def purpose(self, key: str) -> Purpose | None:
        """The purpose with ``key``, if any."""
        return next((p for p in self.purposes if p.key == key), None)

    def system(self, key: str) -> System | None:
        """The system with ``key``, if any."""
        return next((s for s in self.systems if s.key == key), None)

    def dataset(self, key: str) -> Dataset | None:
        """The dataset with ``key``, if any."""
        return next((d for d in self.datasets if d.key == key), None)

    def recipient(self, key: str) -> Recipient | None:
        """The recipient with ``key``, if any."""
        return next((r for r in self.recipients if r.key == key), None)

    def datasets_of(self, system_key: str) -> list[Dataset]:
        """Datasets held by a system."""
        return [d for d in self.datasets if d.system == system_key]

    def systems_for(self, purpose_key: str) -> list[System]:
        """Systems that declare ``purpose_key``."""
        return [s for s in self.systems if purpose_key in s.purposes]

    def recipients_for(self, purpose_key: str) -> list[Recipient]:
        """Recipients that receive data for ``purpose_key`` (declared or via a flow)."""
        via_flows = {f.target for f in self.flows if f.purpose == purpose_key}
        return [r for r in self.recipients if purpose_key in r.purposes or r.key in via_flows]

    def fields_for(self, purpose_key: str) -> list[tuple[Dataset, DatasetField]]:
        """Fields processed for a purpose: a field's own ``purposes`` if set, else its system's."""
        out: list[tuple[Dataset, DatasetField]] = []
        for ds in self.datasets:
            system = self.system(ds.system)
            system_purposes = system.purposes if system else []
            for fld in ds.fields:
                purposes = fld.purposes if fld.purposes is not None else system_purposes
                if purpose_key in purposes:
                    out.append((ds, fld))
        return out

    # -- validation --

    def problems(self) -> list[Problem]:
        """Every cross-object problem (dangling reference, unknown key, duplicate), in order."""
        from trustcart.catalog.validation import find_problems

        return find_problems(self)

    def check(self) -> Self:
        """Raise ``trustcart.errors.ValidationError`` listing all problems, else return self."""
        from trustcart.catalog.validation import raise_problems

        raise_problems(self.problems(), filename=None)
        return self

    # -- derived facts --

    def sensitivity(self, rules: Rules | None = None) -> Sensitivity:
        """Sensitivity of every field, dataset and system (see :mod:`.sensitivity`)."""
        from trustcart.catalog.sensitivity import derive_sensitivity

        return derive_sensitivity(self, rules)

    def transfers(self) -> list[Transfer]:
        """Cross-border flows and out-of-EEA systems/recipients (see :mod:`.transfers`)."""
        from trustcart.catalog.transfers import find_transfers

        return find_transfers(self)

    def summary(self, rules: Rules | None = None) -> InventorySummary:
        """Counts for dashboards and the CLI (see :mod:`.summary`)."""
        from trustcart.catalog.summary import summarize

        return summarize(self, rules)

    # -- persistence and merging --

    def objects(self) -> list[tuple[ObjectKind, str, dict[str, Any]]]:
        """Every top-level object as ``(kind, key, json-ready dict)``, for a key-value store.

        Why: a store persists one row per ``(kind, key)`` so that teams can upsert their own
        systems without rewriting the whole map; :meth:`from_objects` rebuilds the map.
        """
        out: list[tuple[ObjectKind, str, dict[str, Any]]] = []
        if self.organization is not None:
            out.append(("organization", ORGANIZATION_KEY, _dump(self.organization)))
        for kind, attr in _TAXONOMY_SECTIONS.items():
            for ext in getattr(self.taxonomy, attr):
                out.append((kind, ext.key, _dump(ext)))
        for kind, (attr, _cls) in _SECTIONS.items():
            for obj in getattr(self, attr):
                out.append((kind, obj.key, _dump(obj)))
        return out

    @classmethod
    def from_objects(cls, objects: Iterable[tuple[str, str, Mapping[str, Any]]]) -> DataMap:
        """Rebuild a map from :meth:`objects` rows; raises ``ValidationError`` on any problem."""
        from trustcart.catalog.validation import Problem, raise_problems

        data: dict[str, Any] = {"taxonomy": {}}
        problems: list[Problem] = []
        for kind, key, body in objects:
            if kind == "organization":
                data["organization"] = dict(body)
            elif kind in _TAXONOMY_SECTIONS:
                data["taxonomy"].setdefault(_TAXONOMY_SECTIONS[kind], []).append(dict(body))
            elif kind in _SECTIONS:
                data.setdefault(_SECTIONS[kind][0], []).append(dict(body))
            else:
                problems.append(Problem((kind, key), f"unknown object kind {kind!r}"))
        raise_problems(problems, filename=None)
        return cls.validate_data(data).check()

    @classmethod
    def validate_data(cls, data: Any) -> DataMap:
        """``model_validate`` that raises TrustCart's ``ValidationError`` with readable paths."""
        from trustcart.catalog.validation import problems_from_pydantic, raise_problems

        try:
            return cls.model_validate(data)
        except PydanticValidationError as exc:
            raise_problems(problems_from_pydantic(exc), filename=None)
            raise  # pragma: no cover - raise_problems always raises on a non-empty list

    def merge(self, other: DataMap) -> DataMap:
        """Upsert ``other`` into a copy of this map, by ``(kind, key)``.

        Objects of ``other`` replace same-key objects in place; new ones are appended; the
        organization is replaced when ``other`` has one. Merging the same map twice gives the
        same result as once. The result is checked like a loaded manifest.
        """
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for kind, key, body in self.objects():
            rows[(kind, key)] = body
        for kind, key, body in other.objects():
            rows[(kind, key)] = body
        ordered = sorted(rows.items(), key=lambda kv: OBJECT_KINDS.index(kv[0][0]))
        return DataMap.from_objects((k, key, body) for (k, key), body in ordered)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)
