"""The model plugin interface: what a model must declare so the gateway can govern it.

Why models declare features: the gateway can only gate what it knows. Each feature names the
purpose it serves and the data categories it carries (directly or through a data-map field), so
consent, protected-attribute and proxy checks happen per feature before the model sees a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from trustcart.explain import Attribution, ItemReason


class DecisionKind(StrEnum):
    """What a decision decides. Each kind has its own output shape and non-personal fallback."""

    RECOMMEND = "recommend"  # item ids, best first (fallback: popularity order)
    RANK = "rank"  # the given candidates reordered (fallback: popularity / given order)
    PRICE = "price"  # a price adjustment, a fraction of list price (fallback: list price)
    OFFER = "offer"  # an acceptance score in [0, 1] (fallback: the default offer)
    CREDIT = "credit"  # checkout financing: a repayment score in [0, 1] -> eligibility + limit


#: What a feature's value is. The gateway checks it before the model sees it, so a request can
#: never crash a model: ``number`` — a finite int/float/bool of magnitude ≤ 10^15; ``items`` —
#: a list of item ids (strings or integers); ``text`` — a short string.
FeatureType = Literal["number", "items", "text"]
FEATURE_TYPES: tuple[FeatureType, ...] = ("number", "items", "text")


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One model input.

    ``purpose`` is the data-map purpose the value is used for; ``None`` marks a non-personal
    input (stock level, demand) whose categories must all be ``system.*``. ``categories`` are
    fideslang data categories; alternatively ``field="dataset.field"`` takes them from the data
    map, so the declaration cannot drift from the inventory. ``label`` is the phrase used in
    explanations ("loyalty tier"). ``dtype`` is the value's type (see :data:`FeatureType`).
    """

    name: str
    purpose: str | None = None
    categories: tuple[str, ...] = ()
    field: str | None = None
    label: str | None = None
    dtype: FeatureType = "number"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (model registry, decision log). ``dtype`` appears only when it is
        not ``number``, so versions registered before it existed keep the same record."""
        out: dict[str, Any] = {
            "name": self.name,
            "purpose": self.purpose,
            "categories": list(self.categories),
            "field": self.field,
            "label": self.label,
        }
        if self.dtype != "number":
            out["dtype"] = self.dtype
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """The inverse of :meth:`to_dict` (model artefacts, the registry)."""
        dtype = data.get("dtype") or "number"
        if dtype not in FEATURE_TYPES:
            raise ValueError(f"feature {data.get('name')!r}: unknown dtype {dtype!r}")
        return cls(
            name=str(data["name"]),
            purpose=data.get("purpose"),
            categories=tuple(str(c) for c in data.get("categories") or ()),
            field=data.get("field"),
            label=data.get("label"),
            dtype=dtype,
        )


@runtime_checkable
class DecisionModel(Protocol):
    """A model the gateway can call.

    ``predict`` receives only the features the gateway allowed (a dropped or missing feature is
    absent from the mapping; the model must cope, e.g. LightGBM treats it as missing, a linear
    model imputes its training mean) and, for ``recommend``/``rank``, the candidate item ids.
    """

    # read-only members, so a model may hold them as plain attributes of any subtype
    @property
    def name(self) -> str:
        """The model's name (registry, decision log)."""
        ...

    @property
    def version(self) -> str:
        """The version; with the name it identifies one trained model."""
        ...

    @property
    def features(self) -> Sequence[FeatureSpec]:
        """The declared inputs."""
        ...

    def predict(self, features: Mapping[str, Any], candidates: Sequence[str] | None = None) -> Any:
        """The raw model output for one decision (shape depends on the kind)."""
        ...


@runtime_checkable
class ExplainableModel(DecisionModel, Protocol):
    """A model that can attribute its output to its features (additively, exactly)."""

    def explain(self, features: Mapping[str, Any]) -> Attribution:
        """Attributions summing to the output ``predict`` gave for these features."""
        ...


@runtime_checkable
class ItemExplainableModel(DecisionModel, Protocol):
    """A recommend/rank model that can say why each item of its list is where it is."""

    def explain_items(
        self, features: Mapping[str, Any], items: Sequence[str]
    ) -> Sequence[ItemReason]:
        """One reason per item of ``items`` (in order), from the same computation as
        ``predict`` for these features."""
        ...
