"""A toy shop whose imports have the usual problems."""

from .catalog import Catalog, price_of
from .fast import dumps

# Basket moved to shop.checkout in a restructure, and nobody re-exported it:
# importguard's export check warns at the import that lost it.
__all__ = ["Catalog", "price_of", "dumps", "Basket"]
