"""An optional dependency: use the accelerator if it is installed."""

try:
    from shop_speedups import dumps  # not installed: a routine optional-import probe
except ImportError:
    import json

    def dumps(obj: object) -> str:
        """Serialise *obj* as JSON."""
        return json.dumps(obj, sort_keys=True)
