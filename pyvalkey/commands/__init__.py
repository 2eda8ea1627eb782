"""Command groups. Importing this package registers every handler in the command table.

One module per group, as Valkey groups them; each registers its handlers with ``@command``.
"""

# MONITOR lives beside the dispatcher it observes; importing it registers the command.
from pyvalkey import monitor as _monitor  # noqa: F401
from pyvalkey.commands import (  # noqa: F401
    acl,
    aof,
    bitmaps,
    client,
    cluster,
    config,
    connection,
    geo,
    hashes,
    hyperloglog,
    introspection,
    keys,
    latency,
    lists,
    migrate,
    modules,
    persistence,
    replication,
    pubsub,
    scripting,
    server,
    sets,
    sort,
    streams,
    strings,
    timetravel,
    transactions,
    zsets,
)
