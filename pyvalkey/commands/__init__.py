"""Command groups. Importing this package registers every handler in the command table."""

from pyvalkey.commands import connection, strings  # noqa: F401
