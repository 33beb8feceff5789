"""The decision gateway: every personalised decision passes here, gated and logged.

Steps, each recorded in the decision: resolve the jurisdiction → drop protected attributes and
registered proxies → ask the consent ledger, per feature, whether its purpose may use its data
→ fall back to a non-personalised answer when no personal feature may be used → call the model
with the allowed features only → guardrails → disclosure flags → seal the personal part with
the subject's key → append to the decision log. Explanations are computed on first request from
the logged inputs (see :meth:`explanation`). :meth:`shred_subject` erases a person from the log
by destroying their key (crypto-shredding) without touching the hash chain.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from trustcart.clock import utcnow
from trustcart.consent import ConsentService
from trustcart.errors import Conflict, SubjectErased, TrustCartError, ValidationError
from trustcart.explain import (
    MAX_EXPLAINED_ITEMS,
    Attribution,
    ItemReason,
    item_sentence,
    items_text,
    price_sentence,
    score_sentence,
    top_reasons,
)
from trustcart.gateway.credit import (
    CreditModelRefused,
    CreditRules,
    adverse_action_reasons,
    check_feature_list,
)
from trustcart.gateway.decision import Decision, Disclosure, DroppedFeature, personal_part
from trustcart.gateway.disclosure import price_disclosures
from trustcart.gateway.guardrails import (
    GuardrailAction,
    OfferGuardrail,
    OfferRules,
    PriceGuardrails,
    money,
)
from trustcart.gateway.inputs import check_group, check_value
from trustcart.gateway.log import (
    CommitMode,
    DecisionLog,
    offer_counts_since,
    open_record,
    subject_decisions,
    subject_keys,
)
from trustcart.gateway.plugin import (
    DecisionKind,
    DecisionModel,
    ExplainableModel,
    FeatureSpec,
    FeatureType,
    ItemExplainableModel,
)
from trustcart.gateway.policy import load_policy
from trustcart.gateway.protected import protected_hit
from trustcart.gateway.proxies import ADMIN_LOG, Proxy, list_proxies, register_proxy
from trustcart.gateway.registry import record_model
from trustcart.gateway.vulnerable import VulnerableSegment, VulnerableSegments, flag
from trustcart.governance.ethics import ensure_ethics_approval
from trustcart.governance.oversight import ensure_oversight
from trustcart.ids import new_id
from trustcart.privacy import ShredReport
from trustcart.rules import Jurisdiction
from trustcart.store.tables import DecisionExplanation, SubjectKey, table_of
from trustcart.workspace import Workspace

_log = logging.getLogger("trustcart.gateway")
_explanations = table_of(DecisionExplanation)
_keys = table_of(SubjectKey)
_KINDS = ", ".join(k.value for k in DecisionKind)


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """One decision to take (``decide_many`` takes a list of these)."""

    kind: str
    subject: str
    context: Mapping[str, Any]
    candidates: Sequence[str] | None = None
    jurisdiction: str | None = None
    list_price: Decimal | str | None = None
    currency: str = "EUR"
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class _Feature:
    spec: FeatureSpec
    categories: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class _Registered:
    kind: DecisionKind
    model: DecisionModel
    name: str
    version: str
    features: tuple[_Feature, ...]
    names: frozenset[str]
    personal: bool  # declares at least one personal feature
    dtypes: dict[str, FeatureType]  # declared feature -> value type (checked per request)


def _kind(value: str | DecisionKind) -> DecisionKind:
    try:
        return DecisionKind(value)
    except ValueError:
        raise ValidationError(
            f"unknown decision kind {value!r}; use one of: {_KINDS}",
            details={"kinds": [k.value for k in DecisionKind]},
        ) from None


def _price(value: Decimal | str | float | None) -> Decimal:
    if value is None:
        raise ValidationError('a price decision needs list_price (e.g. "49.90")')
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(f"list_price {value!r} is not a number") from None
    if not d.is_finite() or d <= 0:
        raise ValidationError(f"list_price must be a positive amount, got {value!r}")
    if d > MAX_LIST_PRICE:
        raise ValidationError(f"list_price must be at most {MAX_LIST_PRICE:,}, got {value!r}")
    price = money(d)
    if price <= 0:
        raise ValidationError(f"list_price must be at least 0.01, got {value!r}")
    return price


#: Largest magnitude of a price adjustment the guardrails are asked to clamp: beyond it the model
#: is broken, not aggressive (and the price's Decimal rounding would overflow).
_MAX_ADJUSTMENT = 1e6
#: Largest list price accepted (in currency units): far above any shop price, well inside the
#: precision of the Decimal arithmetic the price goes through.
MAX_LIST_PRICE = Decimal(10) ** 12


def _call(reg: _Registered, inputs: dict[str, Any], candidates: list[str] | None = None) -> Any:
    """Call the model; a model that fails on checked inputs is a 409 naming it (the traceback
    goes to the server log, without input values), not a 500."""
    try:
        if candidates is None:
            return reg.model.predict(inputs)
        return reg.model.predict(inputs, candidates)
    except Exception as exc:
        _log.warning(
            "model %s@%s failed: %s", reg.name, reg.version, type(exc).__name__, exc_info=False
        )
        raise Conflict(
            f"model {reg.name!r} version {reg.version!r} failed on this request "
            f"({type(exc).__name__}); its inputs passed the gateway's checks, so the model "
            "needs fixing",
            details={"model": reg.name, "version": reg.version},
        ) from None


def _number(value: Any, reg: _Registered, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise Conflict(
            f"model {reg.name!r} returned {type(value).__name__} as the {what}, not a number"
        ) from None
    if not math.isfinite(x):
        raise Conflict(f"model {reg.name!r} returned a non-finite {what}")
    return x


def resolve_feature(consent: ConsentService, spec: FeatureSpec, model: str) -> tuple[str, ...]:
    """The data categories of a declared feature (its own plus its data-map field's), checked:
    a field must exist in the data map, a feature must carry some category, a feature without
    purpose must carry no personal data, and a purpose must exist. Used when a model is
    registered and, before training, by ``trustcart models train``."""
    cats = tuple(spec.categories)
    if spec.field is not None:
        ds_key, _, fname = spec.field.partition(".")
        ds = consent.datamap.dataset(ds_key)
        fld = ds.field(fname) if ds else None
        if fld is None:
            raise ValidationError(
                f"model {model!r} feature {spec.name!r}: field {spec.field!r} is not in the "
                "data map (use dataset.field, e.g. price_quotes.segment)"
            )
        cats = tuple(dict.fromkeys((*cats, *fld.data_categories)))
    if not cats:
        raise ValidationError(
            f"model {model!r} feature {spec.name!r} declares no data categories or field"
        )
    if spec.purpose is None:
        personal = [c for c in cats if consent.rules.sensitivity_of(c) != "anonymous"]
        if personal:
            raise ValidationError(
                f"model {model!r} feature {spec.name!r} has no purpose but carries personal "
                f"data ({', '.join(personal)}); name the purpose it serves"
            )
    else:
        consent.purpose(spec.purpose)  # unknown purpose -> clear error now
    return cats


class Gateway:
    """The decision gateway of one workspace. Create one per process, share it, close it.

    ``commit="group"`` (default) batches concurrent decisions into shared transactions;
    ``"sync"`` commits each in the caller's thread. Either way ``decide`` returns only after
    the decision is durably logged.
    """

    def __init__(
        self,
        ws: Workspace,
        *,
        consent: ConsentService | None = None,
        price_guardrails: PriceGuardrails | None = None,
        offer_rules: OfferRules | None = None,
        offer_guardrail: OfferGuardrail | None = None,
        credit_rules: CreditRules | None = None,
        vulnerable_segments: VulnerableSegments | None = None,
        commit: CommitMode = "group",
        max_wait_ms: float = 0.0,
        max_staleness: float = 1.0,
    ) -> None:
        self.ws = ws
        self.store = ws.store
        self.consent = consent or ConsentService(ws)
        self.price_guardrails = price_guardrails or PriceGuardrails()
        # credit, audiences and vulnerable segments: the workspace's guardrails.yaml (or
        # the shipped defaults); rules passed in code win over the file
        policy = load_policy(ws.root)
        self.offer_rules = offer_rules or policy.offer_rules or OfferRules()
        self.offer_guardrail = offer_guardrail or policy.offer_guardrail or OfferGuardrail()
        self.credit_rules = credit_rules or policy.credit
        self.vulnerable = vulnerable_segments or policy.segments
        self.log = DecisionLog(ws.store, mode=commit, max_wait_ms=max_wait_ms)
        self.keys = subject_keys(ws.store, self.consent.pseudonyms, max_staleness=max_staleness)
        self.max_staleness = max_staleness
        self._models: dict[DecisionKind, _Registered] = {}
        self._unavailable: dict[DecisionKind, str] = {}
        #: Loads a registered version by name and version when a decision it took must be
        #: explained and it is not loaded (set by ``trustcart.models.serve_registered``).
        self.version_loader: Callable[[str, str], DecisionModel | None] | None = (
            self._load_registered
        )
        self._fallbacks: dict[DecisionKind, DecisionModel] = {}
        self._versions: dict[tuple[str, str], _Registered] = {}
        self._gates: dict[tuple[str, str, str], tuple[DroppedFeature | None, ...]] = {}
        self._proxies: dict[str, Proxy] = {}
        self._admin_seq = -1
        self._checked_at = 0.0
        self.reload()

    # -- configuration -----------------------------------------------------------------------
    def register(
        self,
        kind: str | DecisionKind,
        model: DecisionModel,
        *,
        version: str | None = None,
        training_sha256: str | None = None,
        serve: bool = True,
    ) -> None:
        """Serve ``model`` for ``kind`` (replacing the previous one; older versions stay
        loaded so their decisions can still be explained). Records it in the model registry.
        ``serve=False`` only loads it, to explain its past decisions."""
        k = _kind(kind)
        if not isinstance(model, DecisionModel):
            raise ValidationError(
                f"{type(model).__name__} is not a DecisionModel: it needs name, version, "
                "features and predict(features, candidates)"
            )
        ver = version or model.version
        ensure_ethics_approval(self.ws, model.name, ver)  # 409 if the workspace requires one
        feats = tuple(self._resolve(f, model.name) for f in model.features)
        names = [f.spec.name for f in feats]
        if len(set(names)) != len(names):
            raise ValidationError(f"model {model.name!r} declares a feature twice")
        if k is DecisionKind.CREDIT:
            self._check_credit_model(model, feats)
        if serve:  # 409 unless a person approved this version (human_oversight_kinds)
            ensure_oversight(self.ws, k.value, model.name, ver)
        sha = training_sha256 or getattr(model, "training_sha256", None)
        record_model(
            self.store,
            name=model.name,
            version=ver,
            kind=k.value,
            features=[f.spec for f in feats],
            training_sha256=sha,
        )
        reg = _Registered(
            k,
            model,
            model.name,
            ver,
            feats,
            frozenset(names),
            any(f.spec.purpose is not None for f in feats),
            {f.spec.name: f.spec.dtype for f in feats},
        )
        if serve:
            self._models[k] = reg
            self._unavailable.pop(k, None)
        self._versions[(model.name, ver)] = reg

    def _check_credit_model(self, model: DecisionModel, feats: Sequence[_Feature]) -> None:
        """A credit model must declare no ECOA / Reg B characteristic nor proxy (it refuses
        to serve, :class:`CreditModelRefused`) and must give attributions: a declined shopper
        is owed the principal reasons (adverse action)."""
        check_feature_list(
            model.name, [(f.spec.name, f.categories) for f in feats], list_proxies(self.store)
        )
        if not isinstance(model, ExplainableModel):
            raise ValidationError(
                f"credit model {model.name!r} gives no feature attributions (explain()): a "
                "declined shopper must be told the principal reasons, derived from them"
            )

    def _load_registered(self, name: str, version: str) -> DecisionModel | None:
        """The default version loader: a version trained in this workspace, from its artefact."""
        from trustcart.models.serving import load_version  # models build on the gateway

        return load_version(self.ws, name, version)

    def mark_unavailable(self, kind: str | DecisionKind, reason: str) -> None:
        """Say why ``kind`` has no model (e.g. its configured artefact failed its checksum):
        the 409 answered for that kind then gives the reason."""
        self._unavailable[_kind(kind)] = reason

    def register_fallback(self, kind: str | DecisionKind, model: DecisionModel) -> None:
        """The non-personalised model used when personalisation is not allowed (e.g. a
        popularity recommender). It must declare no personal feature."""
        k = _kind(kind)
        if any(f.purpose is not None for f in model.features):
            raise ValidationError(
                f"fallback model {model.name!r} declares personal features; a fallback must "
                "work without personal data"
            )
        self._fallbacks[k] = model

    def register_proxy(self, feature: str, reason: str, source: str) -> Proxy:
        """Block ``feature`` as a proxy of a protected attribute (all gateways, from now on)."""
        proxy = register_proxy(self.store, feature, reason, source)
        self.reload()
        return proxy

    def reload(self) -> None:
        """Re-read proxies (and the consent data map) when the admin log moved; bring the
        offer-disparity counts up to the log (every process's offers)."""
        self._checked_at = time.monotonic()
        guard = self.offer_guardrail
        if guard.group_key is not None:
            counts, upto = offer_counts_since(self.store, guard.synced_seq)
            guard.absorb(counts, upto)
        head = self.store.log(ADMIN_LOG).head()[0]
        if head != self._admin_seq:
            self._admin_seq = head
            self._proxies = list_proxies(self.store)
            self._gates.clear()
            self.consent.reload()

    def _resolve(self, spec: FeatureSpec, model: str) -> _Feature:
        cats = resolve_feature(self.consent, spec, model)
        return _Feature(spec, cats, spec.label or spec.name.replace("_", " "))

    # -- deciding ----------------------------------------------------------------------------
    def decide(
        self,
        kind: str | DecisionKind,
        subject: str,
        context: Mapping[str, Any],
        candidates: Sequence[str] | None = None,
        jurisdiction: str | None = None,
        *,
        list_price: Decimal | str | None = None,
        currency: str = "EUR",
        limit: int | None = None,
    ) -> Decision:
        """Take one decision; returns once it is durably in the decision log."""
        req = DecisionRequest(
            str(kind), subject, context, candidates, jurisdiction, list_price, currency, limit
        )
        d = self.prepare(req)
        [(seq, at)] = self.log.append_many([d.payload()])
        return replace(d, seq=seq, created_at=at)

    async def decide_async(self, req: DecisionRequest) -> Decision:
        """:meth:`decide` for an event loop (the HTTP API): ``prepare`` runs in a worker thread
        when it may read or write the database (else on the loop, see
        :meth:`prepare_is_cpu_only`), then the coroutine awaits the log's group commit without
        holding a thread. Returns once the decision is durably logged."""
        if self.prepare_is_cpu_only(req):
            d = self.prepare(req)  # a returning person: a thread hop would cost more
        else:
            d = await asyncio.to_thread(self.prepare, req)
        seq, at = await self.log.append_async(d.payload())
        return replace(d, seq=seq, created_at=at)

    def prepare_is_cpu_only(self, req: DecisionRequest) -> bool:
        """Whether :meth:`prepare` for ``req`` will read or write no database: the proxies
        and the consent index were polled recently and the person's key is in memory (the
        usual case for a returning shopper). Such a prepare takes ~0.3 ms of CPU, which is
        cheaper on the event loop than the hand-off to a worker thread and back; a first
        decision (key created and committed) or a due poll still runs in a thread, so the
        loop never waits on the database."""
        return (
            time.monotonic() - self._checked_at < self.max_staleness
            and self.consent.index.fresh()
            and self.keys.cached(req.subject)
        )

    def decide_many(self, requests: Sequence[DecisionRequest]) -> list[Decision]:
        """Take several decisions and log them in one transaction (all or nothing): e.g. the
        personalised prices of every product on a listing page. A refused request fails the
        batch before anything is logged; the error names its position."""
        if len(requests) > 1:
            # first-time subjects' keys in one transaction, not one commit each
            self.keys.ensure_many([r.subject for r in requests])
        prepared = []
        for n, r in enumerate(requests):
            try:
                prepared.append(self.prepare(r))
            except TrustCartError as exc:
                if len(requests) == 1:
                    raise
                details = exc.details if isinstance(exc.details, dict) else {"details": exc.details}
                raise type(exc)(
                    f"decision {n}: {exc.message}", details={"index": n, **details}
                ) from None
        if not prepared:
            return []
        written = self.log.append_many([d.payload() for d in prepared])
        return [
            replace(d, seq=s, created_at=at) for d, (s, at) in zip(prepared, written, strict=True)
        ]

    def prepare(self, req: DecisionRequest) -> Decision:
        """Everything except logging: gate, call, guard, disclose (used by the benchmark)."""
        t0 = time.perf_counter_ns()
        kind = _kind(req.kind)
        if kind is DecisionKind.RANK and not req.candidates:
            raise ValidationError("a rank decision needs candidates (the item ids to order)")
        if req.limit is not None and req.limit < 1:
            raise ValidationError("limit must be at least 1")
        reg = self._models.get(kind)
        if reg is None:
            why = self._unavailable.get(kind)
            raise Conflict(
                f"no model registered for decision kind {kind.value!r}"
                + (f" ({why})" if why else "")
                + f"; train and register one with `trustcart models train {kind.value} --data "
                "FILE --target COLUMN`, then restart `trustcart serve` (in code: "
                f"Gateway.register({kind.value!r}, model))",
                details={
                    "registered": sorted(k.value for k in self._models),
                    "reason": why,
                },
            )
        if time.monotonic() - self._checked_at >= self.max_staleness:
            self.reload()
        j = self.consent.jurisdiction(req.jurisdiction)
        group_key = self._group_key(kind)
        guard_keys = self._guard_keys(kind)
        guard: dict[str, Any] = {}
        if guard_keys:  # segment / audience flags: read by guardrails, never given to the model
            guard = {k: req.context[k] for k in guard_keys & req.context.keys()}
            req = replace(req, context={k: v for k, v in req.context.items() if k not in guard})
        context, group = self._check_context(reg, req.context, group_key)
        list_price = _price(req.list_price) if kind is DecisionKind.PRICE else None
        if kind is DecisionKind.CREDIT:
            list_price = None if req.list_price is None else _price(req.list_price)
            self._refuse_credit_inputs(reg, j)
        blocked = self._vulnerable_hit(kind, guard)

        used, dropped, missing, evidence, inputs = self._gate(reg, j, req.subject, context)
        if blocked is not None:  # the model is not called: keep nothing it would have seen
            used, inputs = [], {}
        personal_used = any(
            f.spec.purpose is not None for f in reg.features if f.spec.name in inputs
        )
        fallback_reason = None
        if reg.personal and not personal_used:
            why = "; ".join(f"{d.feature}: {d.reason}" for d in dropped if d.stage == "consent")
            fallback_reason = "personalisation not allowed" + (
                f": {why}" if why else ": no allowed personal feature was provided"
            )

        actions: list[GuardrailAction] = []
        disclosures: list[Disclosure] = []
        if kind is DecisionKind.PRICE:
            assert list_price is not None
            output, actions, disclosures = self._price(
                reg, inputs, list_price, req.currency, group, fallback_reason is None, j
            )
        elif kind is DecisionKind.OFFER:
            output, actions = self._offer(
                reg, inputs, group, fallback_reason is None, guard, blocked
            )
        elif kind is DecisionKind.CREDIT:
            output, actions = self._credit(
                reg, inputs, list_price, req.currency, fallback_reason is None, blocked
            )
        else:
            output, actions = self._items(reg, kind, inputs, req, fallback_reason is None)
        evidence = list(dict.fromkeys(evidence))
        # the subject's key is created (and committed) on first use
        token, sealed = self.keys.token_and_seal(
            req.subject, personal_part(inputs, used, dropped, missing, evidence, fallback_reason)
        )
        latency = (time.perf_counter_ns() - t0) // 1000
        return Decision(
            id=new_id("dec_"),
            kind=kind.value,
            subject=token,
            jurisdiction=j.code,
            model=reg.name,
            model_version=reg.version,
            personalised=fallback_reason is None and personal_used and blocked is None,
            output=output,
            features_used=used,
            inputs=inputs,
            features_dropped=dropped,
            features_missing=missing,
            consent_evidence=evidence,
            fallback_reason=fallback_reason,
            guardrails=[a.to_dict() for a in actions],
            disclosures=disclosures,
            rules_version=self.consent.rules.version,
            latency_us=int(latency),
            group=group,
            sealed=sealed,
        )

    @staticmethod
    def _check_context(
        reg: _Registered, ctx: Mapping[str, Any], group_key: str | None
    ) -> tuple[dict[str, Any], str | None]:
        """Declared features only, each value of its declared type (else a 422 naming it),
        and the fairness group value, before anything else looks at them."""
        values: dict[str, Any] = {}
        group: str | None = None
        unknown: list[str] = []
        for name, value in ctx.items():
            dtype = reg.dtypes.get(name)
            if dtype is None:
                if name == group_key and group_key is not None:
                    group = None if value is None else check_group(group_key, value)
                else:
                    unknown.append(name)
            elif value is not None:
                values[name] = check_value(name, dtype, value)
        if unknown:
            raise ValidationError(
                f"unknown feature(s) {', '.join(map(repr, unknown))} for model {reg.name!r}; "
                f"it declares: {', '.join(sorted(reg.names)) or 'none'}",
                details={"unknown": unknown, "declared": sorted(reg.names)},
            )
        return values, group

    def _group_key(self, kind: DecisionKind) -> str | None:
        if kind is DecisionKind.PRICE:
            return self.price_guardrails.group_key
        if kind is DecisionKind.OFFER:
            return self.offer_guardrail.group_key
        if kind is DecisionKind.CREDIT:
            return self.credit_rules.group_key
        return None

    # -- credit, audiences, vulnerable segments (issue 13) ------------------------------------
    def _guard_keys(self, kind: DecisionKind) -> frozenset[str]:
        """Context keys read by the credit/offer guardrails only (segment and audience flags)."""
        if kind is DecisionKind.CREDIT:
            return self.vulnerable.context_keys
        if kind is DecisionKind.OFFER:  # segment flags are accepted (and ignored) for an
            keys = self.vulnerable.context_keys  # offer that is not high-pressure
            aud = self.offer_rules.audience_key
            return keys | {aud} if aud else keys
        return frozenset()

    def _vulnerable_hit(
        self, kind: DecisionKind, guard: Mapping[str, Any]
    ) -> VulnerableSegment | None:
        if kind is DecisionKind.CREDIT:
            return self.vulnerable.hit("credit", guard)
        if kind is DecisionKind.OFFER and self.offer_rules.high_pressure:
            return self.vulnerable.hit("high_pressure_offer", guard)
        return None

    def _refuse_credit_inputs(self, reg: _Registered, j: Jurisdiction) -> None:
        """For credit a protected input or proxy is not dropped: the decision is refused
        (e.g. a proxy registered after the model, or a category sensitive in ``j``)."""
        hits = [g for g in self._static_gates(reg, j) if g is not None]
        if hits:
            raise CreditModelRefused(
                f"credit model {reg.name!r} version {reg.version!r} refuses to serve in "
                f"{j.code}: it would get protected input(s) "
                + "; ".join(f"{h.feature} ({h.reason})" for h in hits)
                + ". Retrain without them and register the new version",
                details={
                    "model": reg.name,
                    "version": reg.version,
                    "features": [h.to_dict() for h in hits],
                },
            )

    @staticmethod
    def _blocked_action(seg: VulnerableSegment, before: str, after: str) -> GuardrailAction:
        return GuardrailAction(
            "vulnerable_segment",
            before,
            after,
            f"segment {seg.key} ({seg.label}) is protected from this decision ({seg.citation})",
        )

    def _credit(
        self,
        reg: _Registered,
        inputs: dict[str, Any],
        amount: Decimal | None,
        currency: str,
        personalise: bool,
        blocked: VulnerableSegment | None,
    ) -> tuple[dict[str, Any], list[GuardrailAction]]:
        """Eligibility and limit from the repayment score; declined → the principal reasons
        (largest negative attributions, mapped to statements) in the output itself."""
        rules = self.credit_rules
        base: dict[str, Any] = {
            "currency": currency,
            "amount": None if amount is None else str(amount),
        }
        if blocked is not None:
            out = {
                **base,
                "status": "blocked",
                "approved": None,
                "limit": None,
                "score": None,
                "answered_by": "guardrail:vulnerable_segment",
                "blocked": blocked.to_dict(),
                "adverse_action": [],
            }
            return out, [self._blocked_action(blocked, "credit assessment", "no credit offered")]
        if not personalise:
            out = {
                **base,
                "status": "not_assessed",
                "approved": None,
                "limit": None,
                "score": None,
                "answered_by": "fallback:not_assessed",
                "adverse_action": [],
            }
            return out, []
        score = _number(_call(reg, inputs), reg, "repayment score")
        approved, limit, why = rules.decide(score, amount)
        reasons: list[dict[str, Any]] = []
        if not approved:
            reasons = self._adverse_action(reg, inputs, why)
        out = {
            **base,
            "status": "approved" if approved else "declined",
            "approved": approved,
            "limit": str(money(limit)),
            "score": score,
            "answered_by": "model",
            "adverse_action": reasons,
        }
        return out, []

    def _adverse_action(
        self, reg: _Registered, inputs: Mapping[str, Any], why: str | None
    ) -> list[dict[str, Any]]:
        """The statements a declined shopper is given (same function as the explanation)."""
        rules = self.credit_rules
        model = reg.model
        assert isinstance(model, ExplainableModel)  # checked when registered
        att = model.explain(inputs)
        labels = {f.spec.name: f.label for f in reg.features}
        out = [
            r.to_dict()
            for r in adverse_action_reasons(
                att, reasons=rules.reason_table(), labels=labels, k=rules.max_reasons
            )
        ]
        if why is not None and why.startswith("amount"):
            out.insert(0, {"feature": "amount", "effect": None, "text": f"The {why}"})
        return out

    def _static_gates(self, reg: _Registered, j: Jurisdiction) -> tuple[DroppedFeature | None, ...]:
        """Protected-attribute and proxy drops: fixed per model and jurisdiction, so cached."""
        key = (reg.name, reg.version, j.code)
        gates = self._gates.get(key)
        if gates is None:
            out: list[DroppedFeature | None] = []
            for f in reg.features:
                hit = protected_hit(j, f.categories)
                proxy = self._proxies.get(f.spec.name)
                if hit is not None:
                    out.append(
                        DroppedFeature(
                            f.spec.name,
                            "protected",
                            f"{hit.label} ({hit.category}) is never used for decisions",
                            hit.citation,
                        )
                    )
                elif proxy is not None:
                    out.append(
                        DroppedFeature(
                            f.spec.name,
                            "proxy",
                            f"registered proxy of a protected attribute: {proxy.reason} "
                            f"(source: {proxy.source})",
                        )
                    )
                else:
                    out.append(None)
            gates = tuple(out)
            self._gates[key] = gates
        return gates

    def _gate(
        self, reg: _Registered, j: Jurisdiction, subject: str, ctx: Mapping[str, Any]
    ) -> tuple[list[str], list[DroppedFeature], list[str], list[str], dict[str, Any]]:
        used: list[str] = []
        dropped: list[DroppedFeature] = []
        missing: list[str] = []
        evidence: list[str] = []
        inputs: dict[str, Any] = {}
        for f, static in zip(reg.features, self._static_gates(reg, j), strict=True):
            name = f.spec.name
            if static is not None:
                dropped.append(static)
                continue
            if f.spec.purpose is not None:
                perm = self.consent.may_use(subject, f.spec.purpose, f.categories, j.code)
                evidence.extend(perm.evidence_event_ids)
                if not perm.allowed:
                    dropped.append(
                        DroppedFeature(
                            name, "consent", perm.reason, perm.citation, perm.evidence_event_ids
                        )
                    )
                    continue
            value = ctx.get(name)
            if value is None:
                missing.append(name)
                continue
            used.append(name)
            inputs[name] = value
        return used, dropped, missing, evidence, inputs

    def _price(
        self,
        reg: _Registered,
        inputs: dict[str, Any],
        list_price: Decimal,
        currency: str,
        group: str | None,
        personalise: bool,
        j: Jurisdiction,
    ) -> tuple[dict[str, Any], list[GuardrailAction], list[Disclosure]]:
        base = {"list_price": str(list_price), "currency": currency}
        if not personalise:
            fb = {**base, "price": str(list_price), "answered_by": "fallback:list_price"}
            return fb, [], []
        raw = _number(_call(reg, inputs), reg, "price adjustment")
        if abs(raw) > _MAX_ADJUSTMENT:
            raise Conflict(
                f"model {reg.name!r} version {reg.version!r} proposed a price adjustment of "
                f"{raw:g} × list price, beyond ±{_MAX_ADJUSTMENT:g}: a broken model, not an "
                "aggressive one; the decision was not taken",
            )
        proposed = money(list_price * (1 + Decimal(repr(raw))))
        final, actions = self.price_guardrails.apply(list_price, proposed, group)
        out: dict[str, Any] = {
            **base,
            "price": str(final),
            "proposed_price": str(proposed),
            "model_adjustment": raw,
            "answered_by": "model",
        }
        return (
            out,
            actions,
            price_disclosures(j, personalised=True, price=final, list_price=list_price),
        )

    def _offer(
        self,
        reg: _Registered,
        inputs: dict[str, Any],
        group: str | None,
        personalise: bool,
        guard: Mapping[str, Any] | None = None,
        blocked: VulnerableSegment | None = None,
    ) -> tuple[dict[str, Any], list[GuardrailAction]]:
        rules = self.offer_rules
        if blocked is not None:  # a high-pressure offer is never made to a vulnerable person
            blocked_out: dict[str, Any] = {
                "offer": None,
                "score": None,
                "answered_by": "guardrail:vulnerable_segment",
                "blocked": blocked.to_dict(),
            }
            return blocked_out, [self._blocked_action(blocked, rules.offer, "no offer")]
        if not personalise:
            return {"offer": rules.default, "score": None, "answered_by": "fallback:default"}, []
        aud = rules.audience_key
        outside = (
            aud is not None
            and (guard or {}).get(aud) is not None
            and not flag(aud, (guard or {})[aud])
        )
        if outside:  # not in the campaign audience: no offer, unless its group is left behind
            made, action = self.offer_guardrail.apply(group, False)
            if action is not None:
                action = replace(
                    action, reason=action.reason + "; the audience's exclusion was overridden"
                )
            out: dict[str, Any] = {
                "offer": rules.offer if made else None,
                "score": None,
                "answered_by": "audience",
                "in_audience": False,
            }
            return out, [action] if action else []
        score = _number(_call(reg, inputs), reg, "offer score")
        made, action = self.offer_guardrail.apply(group, score >= rules.threshold)
        out = {"offer": rules.offer if made else None, "score": score, "answered_by": "model"}
        return out, [action] if action else []

    def _items(
        self,
        reg: _Registered,
        kind: DecisionKind,
        inputs: dict[str, Any],
        req: DecisionRequest,
        personalise: bool,
    ) -> tuple[dict[str, Any], list[GuardrailAction]]:
        cands = list(req.candidates) if req.candidates is not None else None
        actions: list[GuardrailAction] = []
        if personalise:
            raw_items = _call(reg, inputs, cands)
            if isinstance(raw_items, str | bytes) or not isinstance(raw_items, Iterable):
                raise Conflict(f"model {reg.name!r} returned {type(raw_items).__name__}, not items")
            items = [str(i) for i in raw_items]
            by = "model"
        elif kind in self._fallbacks:
            fb = self._fallbacks[kind]
            items = [str(i) for i in fb.predict({}, cands)]
            by = f"fallback:{fb.name}"
        else:
            items = list(cands or [])
            by = "fallback:given_order"
        if cands is not None:
            allowed = set(cands)
            kept = list(dict.fromkeys(i for i in items if i in allowed))
            if kind is DecisionKind.RANK:
                kept += [c for c in dict.fromkeys(cands) if c not in set(kept)]
            if kept != items:
                actions.append(
                    GuardrailAction(
                        "candidates",
                        f"{len(items)} items",
                        f"{len(kept)} items",
                        "output restricted to the given candidates"
                        + (", each exactly once" if kind is DecisionKind.RANK else ""),
                    )
                )
            items = kept
        if req.limit is not None:
            items = items[: req.limit]
        return {"items": items, "answered_by": by}, actions

    # -- reading -----------------------------------------------------------------------------
    def get(self, decision_id: str) -> dict[str, Any]:
        """A decision from the hash-chained log, its personal part opened; once the person was
        erased, only the clear audit part with ``erased: true``."""
        self.keys.refresh()
        return open_record(self.keys, self.log.get(decision_id))

    def for_subject(self, subject: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """A person's decisions, opened, newest first (by their id or global pseudonym), for
        access requests; empty once the person was erased."""
        return subject_decisions(self.log, self.keys, subject, limit=limit)

    def explanations_for(self, subject: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """A person's decisions with their explanations, newest first — the "meaningful
        information about the logic involved" of an access request (GDPR Art. 15(1)(h)).
        A decision that cannot be explained here says why instead of failing the list."""
        out = []
        for rec in self.for_subject(subject, limit=limit):
            entry: dict[str, Any] = {
                "decision_id": rec["id"],
                "kind": rec["kind"],
                "created_at": rec["created_at"],
                "output": rec["output"],
            }
            try:
                entry["explanation"] = self.explanation(rec["id"])
            except (Conflict, SubjectErased) as exc:
                entry["explanation"] = None
                entry["unavailable"] = exc.message
            out.append(entry)
        return out

    def shred_subject(self, subject: str) -> ShredReport:
        """Erase a person from the decision log by crypto-shredding (by id or pseudonym).

        Destroys their key: their rows stay in the hash chain (``verify`` still passes) and in
        every aggregate audit, but can no longer be opened or linked to them; cached
        explanations of those rows are deleted. ``report.unlinkable["decisions"]`` counts the
        rows. Other processes stop using the key within their ``max_staleness`` (their reads
        check at once). Idempotent.
        """
        return self.keys.shred(subject)

    def explanation(self, decision_id: str) -> dict[str, Any]:
        """The decision's explanation: computed on first request from the logged inputs and
        model version, then cached (deterministic, so the cache changes no evidence).

        ``SubjectErased`` (410) once the person's key was shredded: the inputs it would explain
        no longer exist.
        """
        with self.store.read() as conn:
            body = conn.execute(
                select(_explanations.c.body).where(_explanations.c.decision_id == decision_id)
            ).scalar()
        if body is not None:  # a shred deletes these with the key, in one transaction
            cached: dict[str, Any] = orjson.loads(body)
            return cached
        self.keys.refresh()
        logged = self.log.get(decision_id)
        record = open_record(self.keys, logged)
        if record["erased"]:
            raise self._erased(decision_id)
        result = self._explain(record)
        try:
            with self.store.write() as conn:
                if "sealed" in logged:
                    # Cache only while the key exists: the row lock orders this insert before
                    # or after a concurrent shred, whose hook deletes cached explanations.
                    alive = conn.execute(
                        select(_keys.c.token)
                        .where(_keys.c.token == record["subject"])
                        .with_for_update(read=True)
                    ).first()
                    if alive is None:
                        raise self._erased(decision_id)
                conn.execute(
                    _explanations.insert().values(
                        decision_id=decision_id,
                        body=orjson.dumps(result).decode(),
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            pass  # computed concurrently by another request: same inputs, same answer
        return result

    @staticmethod
    def _erased(decision_id: str) -> SubjectErased:
        return SubjectErased(
            f"decision {decision_id!r} belongs to a person whose data was erased: its inputs "
            "were crypto-shredded, so it can no longer be explained (its outcome stays in the "
            "audit log without any link to the person)",
            details={"decision_id": decision_id},
        )

    def _explain(self, rec: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "decision_id": rec["id"],
            "kind": rec["kind"],
            "model": rec["model"],
            "model_version": rec["model_version"],
            "not_used": [f"{d['feature']}: {d['reason']}" for d in rec.get("features_dropped", [])],
            "guardrails": rec.get("guardrails", []),
            "attribution": None,
            "reasons": [],
        }
        if rec["kind"] in (DecisionKind.RECOMMEND, DecisionKind.RANK):
            return self._explain_items(rec, out)
        if rec["kind"] == DecisionKind.CREDIT:
            return self._explain_credit(rec, out)
        if rec.get("fallback_reason"):
            answer = {
                "price": "the list price",
                "offer": "the default offer",
            }.get(rec["kind"], "a non-personalised order")
            out["method"] = "none"
            out["text"] = f"{answer}: {rec['fallback_reason']}"
            return out
        reg = self._version_of(rec)
        if not isinstance(reg.model, ExplainableModel):
            out["method"] = "none"
            out["text"] = f"{reg.name} does not provide feature attributions"
            return out
        att: Attribution = reg.model.explain(rec["inputs"])
        labels = {f.spec.name: f.label for f in reg.features}
        values = rec["inputs"]
        out["method"] = att.method
        out["attribution"] = att.to_dict()
        out["reasons"] = top_reasons(att, labels=labels, values=values)
        if rec["kind"] == "price":
            text = price_sentence(att, labels=labels, values=values)
            if rec.get("guardrails"):
                o = rec["output"]
                text += (
                    f"; the model proposed {o['proposed_price']}, limited to {o['price']} "
                    "by the pricing guardrails"
                )
        elif rec["kind"] == "offer":
            outcome = "offer made" if rec["output"]["offer"] else "no offer"
            text = score_sentence(att, outcome=outcome, labels=labels, values=values)
        else:
            text = "; ".join(out["reasons"])
        out["text"] = text
        return out

    def _explain_credit(self, rec: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        """Credit: the outcome, the limit and — when declined — the principal reasons as
        stated to the shopper (recomputed from the logged inputs: the same statements the
        decision's output carries)."""
        o = rec["output"]
        out["adverse_action"] = o.get("adverse_action") or []
        if o.get("status") == "blocked":
            b = o.get("blocked") or {}
            out["method"] = "none"
            out["text"] = (
                f"no financing offered: {b.get('label', 'a protected segment')} is protected "
                f"from credit decisions ({b.get('citation', '')}); no model assessed you"
            )
            return out
        if rec.get("fallback_reason"):
            out["method"] = "none"
            out["text"] = f"financing not assessed: {rec['fallback_reason']}"
            return out
        reg = self._version_of(rec)
        model = reg.model
        if not isinstance(model, ExplainableModel):
            out["method"] = "none"
            out["text"] = f"{reg.name} does not provide feature attributions"
            return out
        att = model.explain(rec["inputs"])
        labels = {f.spec.name: f.label for f in reg.features}
        out["method"] = att.method
        out["attribution"] = att.to_dict()
        out["reasons"] = top_reasons(att, labels=labels, values=rec["inputs"])
        if o.get("approved"):
            out["text"] = f"financing approved up to {o['limit']} {o['currency']}"
        else:
            stated = [r["text"] for r in out["adverse_action"]]
            out["text"] = "financing declined; principal reasons: " + (
                "; ".join(stated) if stated else "none stated by the model"
            )
        return out

    def _version_of(self, rec: dict[str, Any]) -> _Registered:
        """The model version that took a logged decision (loaded from the workspace's
        artefacts if this process does not hold it)."""
        key = (rec["model"], rec["model_version"])
        reg = self._versions.get(key)
        if reg is None and self.version_loader is not None:
            loaded = self.version_loader(*key)
            if loaded is not None:
                self.register(rec["kind"], loaded, serve=False)
                reg = self._versions.get(key)
        if reg is None:
            raise Conflict(
                f"model {rec['model']!r} version {rec['model_version']!r} is not loaded in this "
                "gateway and has no artefact in the workspace; register it to explain its "
                "decisions",
            )
        return reg

    def _explain_items(self, rec: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        """Recommend / rank: the reason of each item shown (co-purchases with the person's
        recent items, exact; popularity; or the given order)."""
        items: list[str] = rec["output"]["items"]
        by: str = rec["output"].get("answered_by", "")
        shown = items[:MAX_EXPLAINED_ITEMS]
        kind = DecisionKind(rec["kind"])
        explainer: Any = None
        inputs: dict[str, Any] = {}
        recent: list[str] = []
        if by == "model":
            reg = self._version_of(rec)
            explainer, inputs = reg.model, rec.get("inputs") or {}
            recent = [
                str(i)
                for f in reg.features
                if f.spec.dtype == "items"
                for i in inputs.get(f.spec.name) or []
            ]
        elif by.startswith("fallback:") and by != "fallback:given_order":
            name = by.removeprefix("fallback:")
            # prefer the fallback stored with the recorded model version (same artefact)
            try:
                held: _Registered | None = self._version_of(rec)
            except Conflict:
                held = None
            candidates = [getattr(held.model, "popularity", None) if held else None]
            candidates.append(self._fallbacks.get(kind))
            explainer = next((m for m in candidates if m is not None and m.name == name), None)
        if isinstance(explainer, ItemExplainableModel):
            reasons = list(explainer.explain_items(inputs, shown))
            out["method"] = "item-item" if by == "model" else "popularity"
        elif by == "fallback:given_order":
            reasons = [ItemReason(i, n, 0.0) for n, i in enumerate(shown, 1)]
            out["method"] = "given-order"
        else:
            reasons = []
            out["method"] = "none"
        out["items"] = [r.to_dict() for r in reasons]
        out["reasons"] = [item_sentence(r) for r in reasons]
        if reasons:
            text = items_text(reasons, recent=list(dict.fromkeys(recent)), total=len(items))
        elif by == "model":
            text = f"{rec['model']} does not give reasons for its items"
        else:
            text = "the non-personalised order of the fallback model"
        if rec.get("fallback_reason"):
            text = f"not personalised ({rec['fallback_reason']}); {text}"
        if rec.get("guardrails"):
            text += "; only the candidates given by the shop were kept"
        out["text"] = text
        return out

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Finish pending log writes and stop the writer thread."""
        self.log.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
