"""Optional compiled accelerator; everything else is in pyproject.toml.

``pyvalkey/_speedups/wire.py`` (plain Python), ``lane.pyx``, ``hll.pyx`` and ``keytable.pyx``
(Cython) are compiled into the extensions ``pyvalkey._speedups._wire_c``, ``_lane_c``, ``_hll_c``
and ``_keytable_c`` when Cython and a C compiler are available. The build never
fails because of it: without Cython, or when the C compile fails, the package installs without
the extension and pyvalkey runs the same code as plain Python. ``PYVALKEY_PURE_PYTHON=1`` at
build time skips the compile.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that reports a failed compile and carries on without the extension."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001  (any build failure means: pure Python)
            print(f"pyvalkey: accelerator not built ({exc}); using pure Python", file=sys.stderr)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"pyvalkey: {ext.name} not built ({exc}); using pure Python", file=sys.stderr)


def extensions() -> list[Extension]:
    if os.environ.get("PYVALKEY_PURE_PYTHON", "") not in ("", "0"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    try:
        # Each module is compiled from a copy of its source that also records the source's CRC,
        # so that pyvalkey._speedups can tell a compiled module built from another version of
        # the source (an edit without a rebuild) and ignore it.
        package = Path(__file__).resolve().parent / "pyvalkey" / "_speedups"
        modules = []
        for source_name, module in (
            ("wire.py", "_wire_c.py"),
            ("lane.pyx", "_lane_c.pyx"),
            ("hll.pyx", "_hll_c.pyx"),
            ("keytable.pyx", "_keytable_c.pyx"),
        ):
            text = (package / source_name).read_bytes()
            copy = Path("build") / "cython" / module
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(text + b"\nSOURCE_CRC = %d\n" % zlib.crc32(text))
            modules.append(Extension("pyvalkey._speedups." + module.split(".")[0], [str(copy)]))
        return cythonize(
            modules,
            compiler_directives={"language_level": 3, "binding": False},
            quiet=True,
        )
    except Exception as exc:  # noqa: BLE001
        print(f"pyvalkey: accelerator not generated ({exc}); using pure Python", file=sys.stderr)
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
