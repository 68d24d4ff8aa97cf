"""The ``importguard`` command line: one module per command, run in its own process.

Nothing here is on the startup path of a program with the hook on: these
modules run in the ``importguard`` process (``python -m importguard``, the
console script), never inside the program it checks, runs or measures. The
code that does run in those programs stays flat, next to the startup modules,
so that no package ``__init__`` is added to what they import: ``_walk`` (the
child interpreter of ``check`` and ``snapshot``) and ``_advise_child`` (loaded
inside the program ``advise`` runs).

``cmdline``
    the parser, built from one table of commands, and ``main``
``check``, ``snapshot``, ``run``, ``bench``, ``compare``, ``advise``, ``report``
    one command each: its options (``add_arguments``), ``HELP``,
    ``DESCRIPTION`` and ``main(args) -> exit status``
``status``
    exit statuses and ``UsageError``
``walker``
    the parent side of ``_walk``: ``check``'s and ``snapshot``'s child interpreter
``processes``
    fresh child processes for ``bench`` and ``advise``: their environment,
    timing, schedule, progress bar; the program forms of ``run`` and ``advise``
``stats``
    the order statistics ``bench``, ``compare`` and ``advise`` report
``budgets``
    ``[tool.importguard.budgets]``, checked by ``check`` and ``bench``

Dependencies point one way: ``cmdline`` imports the commands, the commands
import the shared modules, and nothing imports ``cmdline`` or a command back
(``compare`` reads ``bench``'s result format, ``snapshot`` nothing of ``check``).
This ``__init__`` imports nothing.
"""
