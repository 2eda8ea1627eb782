"""Optional compiled accelerator; everything else is in pyproject.toml.

``pyvalkey/_speedups/wire.py`` (plain Python) is compiled by Cython into the extension
``pyvalkey._speedups._wire_c`` when Cython and a C compiler are available. The build never
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
        # The module is compiled from a copy of wire.py that also records the CRC of wire.py, so
        # that pyvalkey._speedups can tell a compiled module built from another version of the
        # source (an edit without a rebuild) and ignore it.
        source = Path(__file__).resolve().parent / "pyvalkey" / "_speedups" / "wire.py"
        text = source.read_bytes()
        copy = Path("build") / "cython" / "_wire_c.py"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(text + b"\nSOURCE_CRC = %d\n" % zlib.crc32(text))
        return cythonize(
            [Extension("pyvalkey._speedups._wire_c", [str(copy)])],
            compiler_directives={"language_level": 3, "binding": False},
            quiet=True,
        )
    except Exception as exc:  # noqa: BLE001
        print(f"pyvalkey: accelerator not generated ({exc}); using pure Python", file=sys.stderr)
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
