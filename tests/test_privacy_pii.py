"""PII recognizers (valid and invalid examples, checksums) and column classification."""

from __future__ import annotations

import numpy as np
import pytest
from fideslang import DEFAULT_TAXONOMY

from trustcart.privacy import classify_column, detect_pii, iban_valid, luhn_valid
from trustcart.privacy.pii import CATEGORY


def _entities(text: str) -> list[tuple[str, str]]:
    return [(m.entity, m.text) for m in detect_pii(text)]


def test_categories_exist_in_fideslang() -> None:
    keys = {c.fides_key for c in DEFAULT_TAXONOMY.data_category}
    assert set(CATEGORY.values()) <= keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+shop@example.co.uk today", "jane.doe+shop@example.co.uk"),
        ("E.164 +14155550100.", "+14155550100"),
        ("tel +33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("call (415) 555-0100", "(415) 555-0100"),
        ("portable 06 12 34 56 78", "06 12 34 56 78"),
        ("Büro 030 1234567", "030 1234567"),
        ("card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
        ("amex 378282246310005", "378282246310005"),
        ("IBAN DE89 3704 0044 0532 0130 00, merci", "DE89 3704 0044 0532 0130 00"),
        ("GB82WEST12345698765432", "GB82WEST12345698765432"),
        ("from 192.168.1.20:443", "192.168.1.20"),
        ("v6 2001:db8::8a2e:370:7334 seen", "2001:db8::8a2e:370:7334"),
    ],
)
def test_recognizers_find_valid_examples(text: str, expected: str) -> None:
    assert expected in [t for _, t in _entities(text)]


@pytest.mark.parametrize(
    "text",
    [
        "not an email: jane@localhost or @example.com",
        "card 4111 1111 1111 1112",  # Luhn fails (last digit altered)
        "order 1234567890123456",  # 16 digits, Luhn fails
        "IBAN DE89 3704 0044 0532 0130 01",  # mod-97 fails
        "IBAN DE88 3704 0044 0532 0130 00",  # check digits altered
        "ip 999.1.1.1 or 1.2.3",
        "date 2024-03-05 12:00, version 1.2.3.4.5",
        "short 12345",
    ],
)
def test_recognizers_reject_invalid_examples(text: str) -> None:
    found = _entities(text)
    assert [e for e in found if e[0] in ("CREDIT_CARD", "IBAN", "EMAIL", "IP_ADDRESS")] == []


def test_checksums_fail_on_every_altered_digit() -> None:
    card, iban = "4111111111111111", "DE89370400440532013000"
    assert luhn_valid(card) and iban_valid(iban)
    for i in range(len(card)):
        altered = card[:i] + str((int(card[i]) + 1) % 10) + card[i + 1 :]
        assert not luhn_valid(altered)
    for i in range(2, len(iban)):
        altered = iban[:i] + str((int(iban[i]) + 1) % 10) + iban[i + 1 :]
        assert not iban_valid(altered)


def test_overlaps_keep_the_most_confident() -> None:
    (m,) = detect_pii("4111111111111111")
    assert m.entity == "CREDIT_CARD" and m.category == "user.financial.credit_card"
    assert 0 < m.score <= 1


def _luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if luhn_valid(prefix + d):
            return prefix + d
    raise AssertionError


def test_classify_column_suggests_the_right_category() -> None:
    rng = np.random.default_rng(0)
    emails = [f"user{i}@shop{i % 7}.example.com" for i in range(200)] + [None] * 20
    phones = [f"+4930{rng.integers(1000000, 9999999)}" for _ in range(200)]
    cards = [_luhn_complete("4" + "".join(map(str, rng.integers(0, 10, 14)))) for _ in range(200)]
    ips = [f"10.{i % 255}.{i // 255}.{i % 7}" for i in range(200)]
    ibans = ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"] * 30
    noise = [f"order-{i}" for i in range(200)]
    assert classify_column(emails)[0].category == "user.contact.email"
    assert classify_column(emails)[0].non_null == 200
    assert classify_column(phones)[0].category == "user.contact.phone_number"
    assert classify_column(cards)[0].category == "user.financial.credit_card"
    assert classify_column([int(c) for c in cards])[0].category == "user.financial.credit_card"
    assert classify_column(ips)[0].category == "user.device.ip_address"
    assert classify_column(ibans)[0].category == "user.financial.bank_account"
    assert classify_column(noise) == []
    # A column where only a minority of values hold an email is not labelled an email column.
    assert classify_column(emails[:10] + noise) == []
