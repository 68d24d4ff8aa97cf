"""Synthetic import workloads for the importguard benchmarks.

Everything here writes plain ``.py`` files into a directory you give it; nothing
imports importguard. The benchmark runner (``run.py``) imports this module, and
it can also be used by hand::

    python benchmarks/synthetic.py /tmp/tree 1000     # writes /tmp/tree/synth_entry.py and synth/

Layout of a tree of *n* modules (``synth_entry`` not counted)::

    synth/__init__.py                 1 module
    synth/sub_000/__init__.py         a subpackage ...
    synth/sub_000/m_00.py ... m_09.py ... with 10 leaves (11 modules each)
    ...
    synth/m_00.py ...                 leftover leaves directly under synth/

``synth_entry`` imports every module, so ``import synth_entry`` makes *n* + 1
real imports. Every second subpackage imports its own leaves from its
``__init__`` (``from . import m_00, ...``), so records have parents and
children three levels deep; the entry imports the other subpackages' leaves
itself, half with ``import a.b.c`` and half with ``from a.b import c``. Each
leaf is a few lines (an already-loaded ``import sys``, a constant, a function,
a class), so the import system, not the module body, dominates its cost.

Miss workloads (``write_misses``): failing imports spread over small modules
(``try: import nonexistent_mod_i`` / ``except ImportError: pass``, each a full
search of ``sys.path``; and ``from synth import missing_name_i``, which tries
the submodule ``synth.missing_name_i`` -- a real import that fails, searched in
``synth.__path__`` only -- before raising ``ImportError: cannot import name``),
a control set of the same modules without misses, and one long module full of
misses.
"""

from __future__ import annotations

import os
import sys

LEAVES_PER_SUBPACKAGE = 10
MISSES_PER_MODULE = 10

LEAF = '''\
"""Synthetic leaf module {name}."""
import sys

VALUE = {index}


def compute(x):
    return x * VALUE + len(sys.argv)


class Thing:
    size = VALUE

    def __init__(self, v=VALUE):
        self.v = v
'''

PACKAGE = '''\
"""Synthetic package {name}."""
{body}
'''

#: With ``exports=True`` every module also declares a 3-name ``__all__``, as most
#: real packages' modules do, so importguard's export check runs on each of them.
EXPORTS_LEAF = '__all__ = ["VALUE", "compute", "Thing"]\n'
#: A package binds the three names itself (after importing its leaves, if it does).
EXPORTS_PACKAGE = """\
__all__ = ["VALUE", "compute", "Thing"]
VALUE = 0


def compute(x):
    return x


class Thing:
    pass
"""


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def layout(n: int) -> tuple[int, int]:
    """(subpackages, leftover leaves under ``synth``) for a tree of *n* modules."""
    if n < 1:
        raise ValueError("a tree has at least one module (synth itself)")
    per = LEAVES_PER_SUBPACKAGE + 1
    subs = (n - 1) // per
    return subs, (n - 1) - subs * per


def write_tree(root: str, n: int, exports: bool = False) -> list[str]:
    """Write a tree of *n* modules plus ``synth_entry.py`` under *root*.

    Returns the names of the *n* modules (``synth_entry`` excluded), in the
    order ``synth_entry`` imports them. With *exports*, every module (packages
    included) declares a 3-name ``__all__`` that it binds.
    """
    leaf_text = LEAF + (EXPORTS_LEAF if exports else "")
    pkg_extra = EXPORTS_PACKAGE if exports else ""
    subs, extra = layout(n)
    names = ["synth"]
    entry = ['"""Imports every module of the synthetic tree."""', "import synth"]
    _write(os.path.join(root, "synth", "__init__.py"), PACKAGE.format(name="synth", body=pkg_extra))
    counter = 0
    for s in range(subs):
        pkg = f"synth.sub_{s:03d}"
        leaves = [f"m_{i:02d}" for i in range(LEAVES_PER_SUBPACKAGE)]
        self_importing = s % 2 == 0
        body = f"from . import {', '.join(leaves)}\n" if self_importing else ""
        _write(
            os.path.join(root, "synth", f"sub_{s:03d}", "__init__.py"), PACKAGE.format(name=pkg, body=body + pkg_extra)
        )
        names.append(pkg)
        if self_importing:
            entry.append(f"import {pkg}")
        for i, leaf in enumerate(leaves):
            full = f"{pkg}.{leaf}"
            _write(
                os.path.join(root, "synth", f"sub_{s:03d}", f"{leaf}.py"),
                leaf_text.format(name=full, index=counter),
            )
            counter += 1
            names.append(full)
            if not self_importing:
                entry.append(f"import {full}" if i % 2 == 0 else f"from {pkg} import {leaf}")
    for i in range(extra):
        full = f"synth.m_{i:02d}"
        _write(os.path.join(root, "synth", f"m_{i:02d}.py"), leaf_text.format(name=full, index=counter))
        counter += 1
        names.append(full)
        entry.append(f"import {full}")
    _write(os.path.join(root, "synth_entry.py"), "\n".join(entry) + "\n")
    assert len(names) == n, (len(names), n)
    return names


def write_misses(root: str, m: int, per_module: int = MISSES_PER_MODULE) -> None:
    """Write the failing-import workloads (*m* misses of each kind) under *root*.

    Realistic shape: optional imports sit at the top of many small modules, so
    the misses are spread over ``m / per_module`` modules of *per_module*
    ``try``/``except ImportError`` blocks each:

    * ``miss_top``   imports ``mt_000`` ...: ``try: import nonexistent_mod_i``
    * ``miss_from``  imports ``mf_000`` ...: ``try: from synth import missing_name_i``
      (needs the ``synth`` package of :func:`write_tree` in the same *root*)
    * ``miss_ctrl``  imports ``mc_000`` ...: the same blocks with ``import sys``
      (already loaded, so no import runs): subtract it to get the misses alone.
    * ``miss_big``   one module whose body is *m* ``import nonexistent_mod_i``
      blocks (~4 lines each): the cost of a miss deep inside a long module.
    """
    if m % per_module:
        raise ValueError(f"the number of misses must be a multiple of {per_module}")
    kinds = {
        "mt": ("miss_top", "import nonexistent_mod_{i}"),
        "mf": ("miss_from", "from synth import missing_name_{i}"),
        "mc": ("miss_ctrl", "import sys"),
    }
    block = "try:\n    {stmt}\nexcept ImportError:\n    pass\n"
    for prefix, (entry, stmt) in kinds.items():
        mods = []
        for k in range(m // per_module):
            mod = f"{prefix}_{k:04d}"
            mods.append(f"import {mod}")
            body = [f'"""Optional imports ({entry})."""\n']
            for j in range(per_module):
                body.append(block.format(stmt=stmt.format(i=k * per_module + j)))
            body.append("VALUE = 1\n")
            _write(os.path.join(root, f"{mod}.py"), "".join(body))
        _write(os.path.join(root, f"{entry}.py"), "\n".join(mods) + "\n")
    big = ['"""Many distinct top-level imports that fail, in one long module."""\n']
    big += [block.format(stmt=f"import nonexistent_mod_{i}") for i in range(m)]
    _write(os.path.join(root, "miss_big.py"), "".join(big))


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: python benchmarks/synthetic.py DIR N [MISSES]\n")
        return 2
    root, n = argv[0], int(argv[1])
    names = write_tree(root, n)
    if len(argv) == 3:
        write_misses(root, int(argv[2]))
    print(f"wrote {len(names)} modules + synth_entry under {root}; run: cd {root} && python -c 'import synth_entry'")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
