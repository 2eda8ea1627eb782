"""Persistence: the RDB format (``rdb``) with its LZF and CRC-64 helpers, and the server-side
save/load machinery that drives it (``pyvalkey.commands.persistence``)."""
