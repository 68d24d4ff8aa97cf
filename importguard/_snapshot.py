"""The snapshot (lock) file: the public names of every module, in a diff-friendly text format.

    # importguard snapshot 1
    [app.monitoring]
    MetricsCollector
    PerformanceMetric

Written by ``importguard snapshot``; read at startup when present, so a name
that disappears from a module is an export violation (source ``snapshot``)
the moment the module is imported. New names are not. Builtins only: parsing
happens on the startup path.
"""

VERSION = 1
HEADER = f"# importguard snapshot {VERSION}"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


class SnapshotError(ValueError):
    """The file is not a snapshot this version of importguard can read."""


def dumps(api: "Mapping[str, list[str]]") -> str:
    """Serialise {module: names}: modules and names sorted, one name a line."""
    lines = [
        HEADER,
        "# The public names of each module. A name that disappears is an export violation",
        "# when the module is imported; a new name is not. Regenerate with:",
        "#   importguard snapshot PKG... -o FILE",
    ]
    for module in sorted(api):
        lines.append("")
        lines.append(f"[{module}]")
        lines.extend(sorted(set(api[module])))
    return "\n".join(lines) + "\n"


def loads(text: str) -> "dict[str, tuple[str, ...]]":
    """Parse a snapshot; raise :class:`SnapshotError` with the line at fault."""
    lines = text.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first.startswith("# importguard snapshot "):
        raise SnapshotError("it does not start with '# importguard snapshot 1'")
    version = first.rpartition(" ")[2]
    if not version.isdigit():
        raise SnapshotError(f"unknown snapshot version {version!r}")
    if int(version) > VERSION:
        raise SnapshotError(
            f"it was written by a newer importguard (snapshot version {version}; "
            f"this one reads {VERSION}): upgrade importguard or regenerate it"
        )
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            module = line[1:-1].strip()
            if not all(part.isidentifier() for part in module.split(".")):
                raise SnapshotError(f"line {number}: {module!r} is not a module name")
            current = out.setdefault(module, [])
        elif current is None:
            raise SnapshotError(f"line {number}: a name before any [module] header")
        elif not line.isidentifier():
            raise SnapshotError(f"line {number}: {line!r} is not a Python name")
        else:
            current.append(line)
    return {module: tuple(names) for module, names in out.items()}
