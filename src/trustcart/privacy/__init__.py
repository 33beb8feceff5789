"""Privacy engineering: pseudonymization (later: k-anonymity, generalization, PII detection)."""

from trustcart.privacy.pseudonym import Pseudonymizer, truncate_ip

__all__ = ["Pseudonymizer", "truncate_ip"]
