"""TrustCart: lawful and fair AI personalization for online shops."""

from trustcart.errors import TrustCartError

__version__ = "0.1.0"

__all__ = ["TrustCartError", "__version__"]
