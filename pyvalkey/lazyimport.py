"""``lazy_module``: a module bound at import time but loaded on its first attribute access.

For modules that only some commands need (the RDB and AOF formats, HyperLogLog's registers):
every server start imports every command module, so their imports are paid by every start-up
while most servers use these rarely, or only after the first client is served.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

__all__ = ["lazy_module"]


def lazy_module(name: str) -> Any:
    """``name`` as a module object that runs the module on first attribute access (importlib's
    ``LazyLoader``); the module itself when it is already imported."""
    existing = sys.modules.get(name)
    if existing is not None:
        return existing
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        # What the import system does for a submodule, so ``from parent import child`` finds it.
        setattr(sys.modules[parent], child, module)
    return module
