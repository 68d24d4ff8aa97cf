"""Module-name globs (``myapp.*``, ``*.tests``, ``a?c``), matched without ``fnmatch``.

This runs at startup and on the import hot path, where ``fnmatch`` would cost
~19 modules and ~8 ms (it imports ``re``, ``functools``, ``posixpath``...).
Module names need only ``*`` (any run of characters, dots included, as in
``fnmatch``) and ``?`` (one character); anything else is rejected when the
setting is read, so a glob never silently means something else.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.*?")


# Every character str.splitlines() breaks a line at, escaped.
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """*text* with its line breaks escaped: one importguard message is one line on
    stderr, whatever an exception message or a path quoted in it contains."""
    return text.translate(_LINE_BREAKS)


def short_repr(value: str, limit: int = 60) -> str:
    """*value* as a message may quote it: repr'd (so a line separator in it cannot
    split the message), and cut short, with its length, if it is long."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[: limit - 3]!r}... ({len(value):,} characters)"


def glob_problem(pattern: str) -> str | None:
    """Say what is wrong with *pattern* as a module glob, or ``None`` if it is fine."""
    if not pattern:
        return "an empty glob"
    for ch in pattern:
        if ch not in _ALLOWED and not ch.isidentifier():
            return f"{short_repr(pattern)} has {ch!r}; a module glob uses names, dots, * and ?"
    return None


def _wildcard(pattern: str, name: str) -> bool:
    # Greedy match with backtracking to the last '*': linear in practice,
    # O(len(pattern) * len(name)) at worst, no recursion.
    p = n = 0
    star = -1
    mark = 0
    while n < len(name):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == name[n]):
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star = p
            mark = n
            p += 1
        elif star != -1:
            p = star + 1
            mark += 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def compile_globs(patterns: "Iterable[str]") -> "Callable[[str], bool]":
    """Return a predicate that is true for names matching any of *patterns*.

    Results are cached per name: a process imports each module once, but
    callbacks and reports ask about the same names repeatedly.
    """
    exact = set()
    prefixes = []
    general = []
    for pat in patterns:
        if "*" not in pat and "?" not in pat:
            exact.add(pat)
        elif pat.endswith("*") and "*" not in pat[:-1] and "?" not in pat:
            prefixes.append(pat[:-1])
        else:
            general.append(pat)
    prefix_tuple = tuple(prefixes)
    cache: dict[str, bool] = {}

    def match(name: str) -> bool:
        hit = cache.get(name)
        if hit is None:
            hit = (
                name in exact
                or (bool(prefix_tuple) and name.startswith(prefix_tuple))
                or any(_wildcard(p, name) for p in general)
            )
            cache[name] = hit
        return hit

    return match
