"""pyvalkey: a Valkey-compatible server written in Python."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # ``pyvalkey.EmbeddedServer`` without importing the server for ``import pyvalkey`` alone.
    if name in ("EmbeddedServer", "AsyncEmbeddedServer", "EmbeddedServerError"):
        from pyvalkey import embedded

        return getattr(embedded, name)
    raise AttributeError(f"module 'pyvalkey' has no attribute {name!r}")
