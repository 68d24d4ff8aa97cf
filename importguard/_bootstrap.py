"""Kept for ``importguard.pth`` files written before #14, which call ``_bootstrap.boot()``.

The entry point is ``importguard._boot`` now (one module less at every
startup); an editable install made before that keeps its old ``.pth`` until
it is reinstalled, and would otherwise print a traceback at every start.
"""

import importguard

boot = importguard._boot
