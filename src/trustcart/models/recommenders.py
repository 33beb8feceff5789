"""Reference recommenders: popularity (the non-personalised fallback) and item-item
co-occurrence ("people who bought this also bought"), both plain counts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from trustcart.explain import ItemReason
from trustcart.gateway.plugin import FeatureSpec


class PopularityRecommender:
    """Items by how often they were bought: uses no personal data, so it is the fallback."""

    features: list[FeatureSpec] = []  # noqa: RUF012 - a class-level constant: no inputs

    def __init__(
        self,
        counts: Mapping[str, int],
        *,
        name: str = "popularity",
        version: str = "1",
        training_sha256: str | None = None,
    ) -> None:
        self.counts = dict(counts)
        self.name = name
        self.version = version
        self.training_sha256 = training_sha256
        self._order = sorted(self.counts, key=lambda i: (-self.counts[i], i))

    @classmethod
    def fit(cls, baskets: Iterable[Iterable[str]], **kw: Any) -> PopularityRecommender:
        """Count each item once per basket."""
        counts: Counter[str] = Counter()
        for basket in baskets:
            counts.update(set(basket))
        return cls(counts, **kw)

    def predict(
        self, features: Mapping[str, Any], candidates: Sequence[str] | None = None
    ) -> list[str]:
        """Candidates (or all items) by decreasing popularity, ties by id."""
        if candidates is None:
            return list(self._order)
        return sorted(candidates, key=lambda i: (-self.counts.get(i, 0), i))

    def explain_items(self, features: Mapping[str, Any], items: Sequence[str]) -> list[ItemReason]:
        """Each item's popularity, the only thing that ordered it."""
        return [
            ItemReason(str(i), n, 0.0, {}, self.counts.get(str(i), 0))
            for n, i in enumerate(items, 1)
        ]


class CooccurrenceRecommender:
    """Scores an item by how often it was bought together with the person's recent items."""

    def __init__(
        self,
        cooc: Mapping[str, Mapping[str, int]],
        popularity: PopularityRecommender,
        feature: FeatureSpec,
        *,
        name: str = "item-item",
        version: str = "1",
        training_sha256: str | None = None,
    ) -> None:
        self.training_sha256 = training_sha256
        self.cooc = {k: dict(v) for k, v in cooc.items()}
        self.popularity = popularity
        # the person's recent items: a list, which the gateway checks as such
        self.features = [replace(feature, dtype="items")]
        self.name = name
        self.version = version

    @classmethod
    def fit(
        cls,
        baskets: Iterable[Iterable[str]],
        feature: FeatureSpec,
        **kw: Any,
    ) -> CooccurrenceRecommender:
        """Count pairs bought in the same basket."""
        sets = [set(b) for b in baskets]
        cooc: dict[str, Counter[str]] = defaultdict(Counter)
        for s in sets:
            for a in s:
                for b in s:
                    if a != b:
                        cooc[a][b] += 1
        return cls(cooc, PopularityRecommender.fit(sets), feature, **kw)

    def predict(
        self, features: Mapping[str, Any], candidates: Sequence[str] | None = None
    ) -> list[str]:
        """Candidates (or all items) by co-occurrence with the recent items, then popularity."""
        recent = [str(i) for i in features.get(self.features[0].name) or []]
        pool = list(candidates) if candidates is not None else self.popularity.predict({})
        if candidates is None:
            pool = [i for i in pool if i not in set(recent)]
        score: Counter[str] = Counter()
        for r in recent:
            for item, n in self.cooc.get(r, {}).items():
                score[item] += n
        pop = self.popularity.counts
        return sorted(pool, key=lambda i: (-score.get(i, 0), -pop.get(i, 0), i))

    def explain_items(self, features: Mapping[str, Any], items: Sequence[str]) -> list[ItemReason]:
        """Exact reasons: an item's score is the sum, over the person's recent items, of how
        often each was bought together with it; popularity breaks ties."""
        recent = [str(i) for i in features.get(self.features[0].name) or []]
        out = []
        for n, item in enumerate(items, 1):
            contributions: dict[str, float] = {}
            for r in recent:
                k = self.cooc.get(r, {}).get(str(item), 0)
                if k:
                    contributions[r] = contributions.get(r, 0.0) + k
            score = float(sum(contributions.values()))
            out.append(
                ItemReason(
                    str(item), n, score, contributions, self.popularity.counts.get(str(item), 0)
                )
            )
        return out
