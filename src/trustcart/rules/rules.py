"""The loaded rule pack and the questions other modules ask it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from trustcart.errors import RulesError
from trustcart.rules._taxonomy import is_within, self_and_ancestors
from trustcart.rules.assessment_rules import AiActRules, DpiaRules
from trustcart.rules.entries import PurposeMapping, SensitiveCategory, Text
from trustcart.rules.fallback import build_fallback
from trustcart.rules.jurisdiction import Jurisdiction
from trustcart.rules.kinds import PurposeType, Sensitivity
from trustcart.rules.review_rules import ReviewRules
from trustcart.rules.transfer_rules import TransferRules


class Rules(BaseModel):
    """A versioned rule pack: jurisdictions by code plus the data-use -> purpose-type mapping.

    Record ``version`` with any decision taken on these rules, so it can be replayed against the
    facts that applied at the time.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Text
    jurisdictions: dict[str, Jurisdiction]
    purposes: tuple[PurposeMapping, ...]
    transfers: TransferRules | None = None
    dpia: DpiaRules | None = None
    ai_act: AiActRules | None = None
    review: ReviewRules | None = None

    _by_alias: dict[str, str] = PrivateAttr(default_factory=dict)
    _sensitive_keys: frozenset[str] = PrivateAttr(default=frozenset())
    _fallbacks: dict[str, Jurisdiction] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Index aliases and sensitive keys once; reject codes claimed twice."""
        claimed: dict[str, str] = {}
        for code, j in self.jurisdictions.items():
            if code != j.code:
                raise ValueError(f"jurisdiction stored under {code!r} has code {j.code!r}")
            for alias in (code, *(j.aliases.codes if j.aliases else ())):
                if alias in claimed:
                    raise ValueError(f"code {alias!r} claimed by both {claimed[alias]} and {code}")
                claimed[alias] = code
        uses = [p.data_use for p in self.purposes]
        dupes = sorted({u for u in uses if uses.count(u) > 1})
        if dupes:
            raise ValueError(f"data uses mapped more than once: {', '.join(dupes)}")
        self._by_alias = claimed
        self._sensitive_keys = frozenset(
            s.data_category for j in self.jurisdictions.values() for s in j.sensitive_categories
        )

    def resolve(self, code: str) -> Jurisdiction:
        """The jurisdiction for ``code`` (case-insensitive).

        Exact codes first (``US-CA``), then aliases (any EU member state -> ``EU``, ``GB`` ->
        ``UK``). Anything else (another US state, an unknown country) gets the strictest default
        built from every jurisdiction in the pack, with ``is_fallback=True`` and a
        ``fallback_reason`` saying so: an unknown place must never get weaker protection than a
        known one.
        """
        wanted = code.strip().upper()
        if not wanted:
            raise RulesError("empty jurisdiction code", details={"code": code})
        found = self._by_alias.get(wanted)
        if found is not None:
            return self.jurisdictions[found]
        cached = self._fallbacks.get(wanted)
        if cached is None:
            cached = build_fallback(wanted, list(self.jurisdictions.values()), self.version)
            self._fallbacks[wanted] = cached
        return cached

    def require_transfers(self) -> TransferRules:
        """The transfer rules, or :class:`RulesError` when this pack has none."""
        if self.transfers is None:
            raise RulesError(f"rule pack {self.version} has no transfers file (transfers_file)")
        return self.transfers

    def require_dpia(self) -> DpiaRules:
        """The DPIA screening rules, or :class:`RulesError` when this pack has none."""
        if self.dpia is None:
            raise RulesError(f"rule pack {self.version} has no DPIA file (dpia_file)")
        return self.dpia

    def require_ai_act(self) -> AiActRules:
        """The EU AI Act rules, or :class:`RulesError` when this pack has none."""
        if self.ai_act is None:
            raise RulesError(f"rule pack {self.version} has no AI Act file (ai_act_file)")
        return self.ai_act

    def sensitivity_of(self, data_category: str) -> Sensitivity:
        """Coarse sensitivity of a fideslang data category.

        - ``sensitive`` if the category or any ancestor is sensitive in ANY loaded jurisdiction:
          a shop usually serves several regimes at once, and one data map must satisfy all.
        - ``anonymous`` for ``system`` / ``system.*``: data about the system, not a person.
        - ``personal`` for every other category, including unknown top-level keys (e.g. a custom
          taxonomy): treating unknown data as personal errs on the safe side, because calling
          personal data anonymous would switch off every protection downstream.

        An ancestor of a sensitive category is not itself sensitive (``user.demographic`` is
        personal although ``user.demographic.race_ethnicity`` is sensitive).
        """
        key = _clean_key(data_category, "data category")
        if any(k in self._sensitive_keys for k in self_and_ancestors(key)):
            return "sensitive"
        if is_within(key, "system"):
            return "anonymous"
        return "personal"

    def sensitive_in(self, data_category: str) -> list[tuple[str, SensitiveCategory]]:
        """Every (jurisdiction code, cited entry) flagging the category or one of its ancestors."""
        key = _clean_key(data_category, "data category")
        return [
            (code, s)
            for code, j in self.jurisdictions.items()
            for s in j.sensitive_categories
            if is_within(key, s.data_category)
        ]

    def purpose_type_of(self, data_use: str) -> PurposeType:
        """Purpose type of a fideslang data use by longest-prefix match on purposes.yaml.

        ``personalize.profiling`` falls under the ``personalize`` mapping unless a more specific
        one exists. A use with no mapping (e.g. ``collect``, whose purpose is by definition not
        yet defined) raises :class:`RulesError`: guessing would silently pick a legal basis.
        """
        key = _clean_key(data_use, "data use")
        by_use = {p.data_use: p for p in self.purposes}
        for candidate in self_and_ancestors(key):
            mapping = by_use.get(candidate)
            if mapping is not None:
                return mapping.purpose_type
        raise RulesError(
            f"data use {key!r} has no purpose type in rule pack {self.version}; mapped roots: "
            + ", ".join(sorted(by_use)),
            details={"data_use": key},
        )


def _clean_key(key: str, what: str) -> str:
    cleaned = key.strip()
    if not cleaned:
        raise RulesError(f"empty {what} key", details={what: key})
    return cleaned
