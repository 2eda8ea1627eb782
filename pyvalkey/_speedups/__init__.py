"""The one place that decides whether the optional compiled accelerator is used.

``pyvalkey/_speedups/wire.py`` (plain Python) is compiled by Cython into the extension module
``pyvalkey._speedups._wire_c`` when the build had Cython and a C compiler (setup.py). This
module hands the compiled ``end_of_request`` to the command loop (``hotloop``), unless

* ``PYVALKEY_PURE_PYTHON`` is set to a non-empty value other than ``0`` (forces plain Python), or
* the extension is older than ``wire.py`` (a source edit without a rebuild: the compiled copy
  would run stale code, so it is ignored until ``pip install -e .`` builds it again).

Both implementations come from one source, so they behave the same; the tests run both.
"""

from __future__ import annotations

import os
from types import ModuleType

from pyvalkey._speedups import wire as _wire
from pyvalkey._speedups import hotloop as _hotloop

__all__ = ["IMPLEMENTATION", "compiled_wire", "describe", "process_commands", "use"]

process_commands = _hotloop.process_commands


def compiled_wire() -> ModuleType | None:
    """The compiled twin of wire.py, or None when it is not built (or is stale)."""
    try:
        from pyvalkey._speedups import _wire_c  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        if os.path.getmtime(_wire_c.__file__) < os.path.getmtime(_wire.__file__):
            return None
    except (OSError, TypeError):
        pass
    return _wire_c


def use(implementation: str) -> None:
    """Switch to ``"compiled"`` (ValueError when it is not available) or ``"python"``."""
    global IMPLEMENTATION
    if implementation == "compiled":
        module = compiled_wire()
        if module is None:
            raise ValueError("the compiled accelerator is not built")
        _hotloop._end_of_request = module.end_of_request
    elif implementation == "python":
        _hotloop._end_of_request = None
    else:
        raise ValueError(implementation)
    IMPLEMENTATION = implementation


IMPLEMENTATION = "python"
if os.environ.get("PYVALKEY_PURE_PYTHON", "") in ("", "0") and compiled_wire() is not None:
    use("compiled")


def describe() -> str:
    return "compiled (Cython)" if IMPLEMENTATION == "compiled" else "pure Python"
