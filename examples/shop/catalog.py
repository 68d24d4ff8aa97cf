"""A slow import: builds a price table while being imported."""

import time

# Stands in for the parsing, regex compiling and data loading that real
# packages do at import time.
time.sleep(0.15)
_PRICES = {f"item-{i}": i * 1.25 for i in range(1000)}


class Catalog:
    """All items on sale."""

    def items(self) -> list[str]:
        return sorted(_PRICES)


def price_of(item: str) -> float:
    """The price of *item*."""
    return _PRICES[item]
