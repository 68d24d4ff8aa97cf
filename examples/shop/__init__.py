"""A toy shop whose imports have the usual problems."""

from .catalog import Catalog, price_of
from .fast import dumps

__all__ = ["Catalog", "price_of", "dumps"]
