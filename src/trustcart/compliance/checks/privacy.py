"""Pseudonym key hygiene: a current key older than the configured maximum age, and key
material that outlived its rotation window or is readable by others."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time

from trustcart.compliance.registry import CheckContext, Issue, check

_PRACTICE = (
    "TrustCart practice (a TrustCart default, not a legal period: the rule pack has no fact on "
    "key rotation): rotate the pseudonym key at least every pseudonym_key_max_age_days days so "
    "one key never links a person's whole history"
)


@check(
    "TC-PRIV-001",
    area="privacy",
    title="Pseudonym key past its maximum age",
    severity="low",
    rule=_PRACTICE,
    fix="Rotate it: `trustcart privacy rotate-key --window 30d`, then `trustcart privacy "
    "retire-keys` after the window (see docs/privacy.md, key rotation).",
)
def key_too_old(ctx: CheckContext) -> Iterator[Issue]:
    """The current key was created more than ``pseudonym_key_max_age_days`` before the scan
    day. A never-rotated key from the environment has no known age: reported once so the age
    starts being tracked."""
    if ctx.store is None or ctx.settings is None:
        return
    from trustcart.privacy.keyring import key_versions

    limit = ctx.settings.pseudonym_key_max_age_days
    day_end = datetime.combine(ctx.today, time.max, UTC)
    for v in key_versions(ctx.settings, ctx.store, now=day_end):
        if not v.current:
            continue
        if v.created_at is None:
            yield Issue(
                f"pseudonym_key:{v.kid}",
                f"Pseudonym key {v.kid} comes from the environment and its age is unknown; a "
                "rotation records when the current key was made.",
            )
            continue
        age = (ctx.today - v.created_at.date()).days
        if age > limit:
            yield Issue(
                f"pseudonym_key:{v.kid}",
                f"Pseudonym key {v.kid} was created on {v.created_at.date()} ({age} days ago; "
                f"maximum {limit}).",
            )


@check(
    "TC-PRIV-002",
    area="privacy",
    title="Pseudonym key material not destroyed or not guarded",
    severity="medium",
    rule="TrustCart practice: a key whose rotation window ended is destroyed, so records under "
    "it of people not seen during the window can no longer be linked to anyone; live key files "
    "are readable by their owner only",
    fix="Run `trustcart privacy retire-keys` (and remove retired ids from "
    "TRUSTCART_SECRET_KEYS); `chmod 600` live key files.",
)
def key_material(ctx: CheckContext) -> Iterator[Issue]:
    """Expired key files still on disk, expired keys still in the environment, live key files
    with group/other permissions."""
    if ctx.store is None or ctx.settings is None:
        return
    from trustcart.privacy.keyring import stale_material

    day_end = datetime.combine(ctx.today, time.max, UTC)
    for problem in stale_material(ctx.settings, ctx.store, now=day_end):
        kid = problem.split(":", 1)[0]
        yield Issue(f"pseudonym_key:{kid}", f"Pseudonym key {problem}.")
