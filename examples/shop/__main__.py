"""python -m examples.shop: price a basket."""

from . import Catalog, dumps, price_of
from .plugins import load_all

plugins = load_all()
basket = Catalog().items()[:3]
total = sum(price_of(item) for item in basket)
print(dumps({"basket": basket, "total": total, "plugins": len(plugins)}))
