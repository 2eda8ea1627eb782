"""The one place that decides whether the optional compiled accelerator is used.

``pyvalkey/_speedups/hotloop.py`` is the per-read command loop in plain Python. When the build
had Cython and a C compiler, setup.py also compiled that same file into the extension module
``pyvalkey._speedups._hotloop_c``; this module then uses it, unless

* ``PYVALKEY_PURE_PYTHON`` is set to a non-empty value other than ``0`` (forces plain Python), or
* the extension is older than ``hotloop.py`` (a source edit without a rebuild: the compiled copy
  would run stale code, so it is ignored until ``pip install -e .`` builds it again).

Both implementations come from one source, so they behave the same; the tests run both.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

from pyvalkey._speedups import hotloop as _pure

__all__ = ["IMPLEMENTATION", "compiled_module", "describe", "process_commands"]


def compiled_module() -> ModuleType | None:
    """The compiled twin of hotloop.py, or None when it is not built (or is stale)."""
    try:
        from pyvalkey._speedups import _hotloop_c  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        if os.path.getmtime(_hotloop_c.__file__) < os.path.getmtime(_pure.__file__):
            return None
    except (OSError, TypeError):
        pass
    return _hotloop_c


def _choose() -> tuple[str, Callable[[Any, Any], None]]:
    if os.environ.get("PYVALKEY_PURE_PYTHON", "") not in ("", "0"):
        return "python", _pure.process_commands
    module = compiled_module()
    if module is None:
        return "python", _pure.process_commands
    return "compiled", module.process_commands


IMPLEMENTATION, process_commands = _choose()


def describe() -> str:
    return "compiled (Cython)" if IMPLEMENTATION == "compiled" else "pure Python"
