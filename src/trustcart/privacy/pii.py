"""Finding personal data where nobody declared it: free text and unlabelled columns.

Why pattern recognizers with checksums: e-mail addresses, phone numbers, card numbers, IBANs
and IP addresses have a syntax, and two of them carry a check digit (Luhn for cards, ISO 7064
mod-97 for IBANs), so a match can be *verified* rather than guessed — a 16-digit order number
that fails Luhn is not reported as a card. Each match carries a confidence that reflects how
specific its pattern is (an E.164 number is surer than ``06 12 34 56 78``). Names and places need
a language model; Presidio can add those later, but it is not a dependency today.

Column classification samples a column, counts the share of non-NULL values containing each
kind of match and suggests the fideslang data category of the kinds above a share.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trustcart.errors import ValidationError

CATEGORY = {
    "EMAIL": "user.contact.email",
    "PHONE": "user.contact.phone_number",
    "CREDIT_CARD": "user.financial.credit_card",
    "IBAN": "user.financial.bank_account",
    "IP_ADDRESS": "user.device.ip_address",
}


@dataclass(frozen=True)
class Match:
    """One piece of personal data found in a text."""

    entity: str
    start: int
    end: int
    text: str
    score: float

    @property
    def category(self) -> str:
        """The fideslang data category of this kind of data."""
        return CATEGORY[self.entity]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "entity": self.entity,
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": self.score,
        }


# --- checksums -----------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check of payment card numbers (spaces and dashes ignored)."""
    compact = re.sub(r"[ -]", "", number)
    if len(compact) < 12 or not compact.isdigit():
        return False
    digits = [int(c) for c in compact]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# ISO 13616 lengths of the countries most seen in European shops (others: 15–34 accepted).
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15,
    "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
}  # fmt: skip


def iban_valid(iban: str) -> bool:
    """ISO 7064 mod-97-10: move the first 4 characters to the end, letters to 10..35, mod 97 = 1."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


# --- recognizers ---------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])"
)
_PHONE_PATTERNS = (
    # E.164: + and 8 to 15 digits, no separators.
    (re.compile(r"(?<![\w+])\+[1-9]\d{7,14}(?!\d)"), 0.85),
    # International with separators: +33 6 12 34 56 78, +1 (415) 555-0100, +44 20 7946 0958.
    (
        re.compile(
            r"(?<![\w+])\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}"
            r"(?![\w])"
        ),
        0.75,
    ),
    # North American national: (415) 555-0100, 415-555-0100, 415.555.0100.
    (re.compile(r"(?<![\w(])(?:\(\d{3}\) ?|\d{3}[-.])\d{3}[-.]\d{4}(?!\d)"), 0.6),
    # European national with a trunk 0: 06 12 34 56 78, 030 1234567, 020 7946 0958.
    (re.compile(r"(?<![\w+])0\d{1,4}(?:[ ./-]?\d{2,4}){2,4}(?![\w])"), 0.5),
)  # fmt: skip
_CARD = re.compile(r"(?<![\w])\d(?:[ -]?\d){12,18}(?![\w])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_CARD_BRANDS = re.compile(r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|5)")


def _emails(text: str) -> Iterable[Match]:
    for m in _EMAIL.finditer(text):
        yield Match("EMAIL", m.start(), m.end(), m.group(), 0.9)


def _phones(text: str) -> Iterable[Match]:
    for pattern, score in _PHONE_PATTERNS:
        for m in pattern.finditer(text):
            digits = sum(c.isdigit() for c in m.group())
            if 8 <= digits <= 15:
                yield Match("PHONE", m.start(), m.end(), m.group(), score)


def _card_grouping(candidate: str) -> bool:
    """Separated card numbers come in groups of 4 (last 1–4) or 4-6-4/4-6-5 (Amex, Diners)."""
    groups = [len(g) for g in re.split(r"[ -]", candidate)]
    if len(groups) == 1:
        return True
    if groups[:2] == [4, 6] and len(groups) == 3:
        return groups[2] in (4, 5)
    return all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4


def _cards(text: str) -> Iterable[Match]:
    iban_shaped = [(m.start(), m.end()) for m in _IBAN.finditer(text)]
    for m in _CARD.finditer(text):
        if any(a < m.end() and m.start() < b for a, b in iban_shaped):
            continue  # digits of an IBAN-shaped token (valid or not) are not a card
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and _card_grouping(m.group()) and luhn_valid(digits):
            score = 0.9 if _CARD_BRANDS.match(digits) else 0.7
            yield Match("CREDIT_CARD", m.start(), m.end(), m.group(), score)


def _ibans(text: str) -> Iterable[Match]:
    for m in _IBAN.finditer(text):
        raw = m.group()
        # The pattern may run into the next token: try the country's length, else shorten.
        expected = IBAN_LENGTHS.get(raw[:2])
        lengths = [expected] if expected else list(range(34, 14, -1))
        for length in lengths:
            end, seen = 0, 0
            while end < len(raw) and seen < length:
                seen += raw[end] != " "
                end += 1
            if seen == length and iban_valid(raw[:end]):
                yield Match("IBAN", m.start(), m.start() + end, raw[:end], 0.95)
                break


def _ips(text: str) -> Iterable[Match]:
    for m in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield Match("IP_ADDRESS", m.start(), m.end(), m.group(), 0.8)
    for m in _IPV6.finditer(text):
        candidate = m.group()
        if sum(c.isalnum() for c in candidate) < 2:
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield Match("IP_ADDRESS", m.start(), m.end(), candidate, 0.85)


RECOGNIZERS = (_emails, _ibans, _cards, _ips, _phones)


def detect_pii(text: str, *, min_score: float = 0.0) -> list[Match]:
    """Personal data found in ``text``, non-overlapping, in order of position.

    Where two recognizers claim overlapping spans (a card number also looks like a phone
    number), the higher-confidence one wins, then the longer span.
    """
    found = [m for r in RECOGNIZERS for m in r(text) if m.score >= min_score]
    found.sort(key=lambda m: (-m.score, -(m.end - m.start), m.start))
    kept: list[Match] = []
    for m in found:
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


# --- columns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSuggestion:
    """A suggested fideslang category for a column, with the evidence behind it."""

    category: str
    entity: str
    share: float  # of non-NULL sampled values containing a match
    matched: int
    non_null: int
    confidence: float  # share × mean match score

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "category": self.category,
            "entity": self.entity,
            "share": round(self.share, 4),
            "matched": self.matched,
            "non_null": self.non_null,
            "confidence": round(self.confidence, 4),
        }


def classify_column(values: Sequence[Any], *, min_share: float = 0.5) -> list[ColumnSuggestion]:
    """Categories whose matches occur in at least ``min_share`` of the non-NULL ``values``.

    Values are read as text (a card number stored as an integer still matches). Best first.
    """
    if not 0.0 < min_share <= 1.0:
        raise ValidationError(f"min_share is a share in (0, 1] (got {min_share})")
    hits: dict[str, list[float]] = {}
    non_null = 0
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            continue
        text = str(v).strip()
        if not text:
            continue
        non_null += 1
        best: dict[str, float] = {}
        for m in detect_pii(text):
            best[m.entity] = max(best.get(m.entity, 0.0), m.score)
        for entity, score in best.items():
            hits.setdefault(entity, []).append(score)
    out = []
    for entity, scores in hits.items():
        share = len(scores) / non_null
        if share >= min_share:
            out.append(
                ColumnSuggestion(
                    CATEGORY[entity],
                    entity,
                    share,
                    len(scores),
                    non_null,
                    share * sum(scores) / len(scores),
                )
            )
    return sorted(out, key=lambda s: -s.confidence)


@dataclass(frozen=True)
class SourceClassification:
    """Suggestions for every column of a sampled source."""

    source: str
    rows_sampled: int
    columns: dict[str, list[ColumnSuggestion]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "rows_sampled": self.rows_sampled,
            "columns": {c: [s.to_dict() for s in v] for c, v in self.columns.items()},
        }


def classify_source(
    source: Any, *, sample: int = 1000, table: str | None = None, min_share: float = 0.5
) -> SourceClassification:
    """Suggest categories for each column of ``source`` from a sample of ``sample`` rows.

    The sample is drawn in the engine (a Bernoulli sample sized from the row count, then a
    LIMIT) so only ``sample`` rows reach Python, as text.
    """
    from trustcart.privacy.anonymity import open_table

    if sample < 1:
        raise ValidationError(f"--sample must be at least 1 (got {sample})")
    t, description = open_table(source, table=table)
    rows = int(t.count().execute())
    text = t.select(*[t[c].cast("string").name(c) for c in t.columns])
    if rows > sample:
        text = text.sample(min(1.0, 1.5 * sample / rows), seed=0)
    data = text.limit(sample).to_pyarrow()
    columns = {c: classify_column(data[c].to_pylist(), min_share=min_share) for c in t.columns}
    return SourceClassification(description, data.num_rows, columns)


def manifest_snippet(dataset: str, suggestions: dict[str, list[ColumnSuggestion]]) -> str:
    """YAML lines to add under ``fields:`` of ``dataset`` for the suggested columns."""
    lines = [f"# add under datasets[key={dataset}].fields:"]
    for column, found in suggestions.items():
        if found:
            cats = ", ".join(dict.fromkeys(s.category for s in found))
            lines.append(f"      - {{name: {column}, data_categories: [{cats}]}}")
    return "\n".join(lines) + "\n"
