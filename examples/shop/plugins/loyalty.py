"""A broken plugin: it reads a setting that does not exist."""

import os

POINTS_PER_EURO = int(os.environ["SHOP_LOYALTY_POINTS"])
