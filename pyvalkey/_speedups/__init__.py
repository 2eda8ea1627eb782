"""The one place that decides whether the optional compiled accelerator is used.

``pyvalkey/_speedups/wire.py`` (plain Python) is compiled by Cython into the extension module
``pyvalkey._speedups._wire_c`` when the build had Cython and a C compiler (setup.py). This
module hands the compiled ``end_of_request`` to the command loop (``hotloop``), unless

* ``PYVALKEY_PURE_PYTHON`` is set to a non-empty value other than ``0`` (forces plain Python), or
* the extension was built from another version of ``wire.py`` (it records the source's CRC;
  an edit without a rebuild would otherwise run stale code): it is then ignored until
  ``pip install -e .`` (or ``python setup.py build_ext --inplace``) builds it again.

Both implementations come from one source, so they behave the same; the tests run both.
"""

from __future__ import annotations

import os
import zlib
from types import ModuleType

from pyvalkey._speedups import hotloop as _hotloop
from pyvalkey._speedups import wire as _wire

__all__ = ["IMPLEMENTATION", "compiled_wire", "describe", "process_commands", "use"]

process_commands = _hotloop.process_commands


def compiled_wire() -> ModuleType | None:
    """The compiled twin of wire.py, or None when it is not built (or is stale)."""
    try:
        from pyvalkey._speedups import _wire_c  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        with open(_wire.__file__, "rb") as file:
            crc = zlib.crc32(file.read())
    except OSError:
        return None
    if getattr(_wire_c, "SOURCE_CRC", None) != crc:
        return None
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
