"""The reply of every ``<COMMAND> HELP`` subcommand, built from our own wording.

Valkey answers ``X HELP`` with an array of simple strings: a header line naming the command, then
for each subcommand its syntax line followed by indented description lines, ending with the HELP
entry. Clients and test suites only rely on that shape (and on the header containing
``"X <subcommand> "``), so the shape and the syntax lines are kept while every description is
written here in our own words (we never reuse Valkey's documentation prose).

Container commands (those with a subcommand table in the registry) list only the subcommands this
server actually serves: an entry whose syntax line starts with a subcommand name that has no handler
is left out at reply time, so a subcommand that another module registers later shows up by itself.
"""

from __future__ import annotations

from pyvalkey.commands.registry import COMMANDS
from pyvalkey.protocol.replies import SimpleString

__all__ = ["HelpEntry", "help_reply"]

# (syntax line, description line or lines)
HelpEntry = tuple[str, str | list[str]]

_INDENT = "    "


def _served_filter(command: str) -> set[str] | None:
    """Lower-case names of the subcommands we serve, or None when nothing should be filtered."""
    entry = COMMANDS.get(command.lower().encode())
    subcommands = getattr(entry, "subcommands", None)
    if not subcommands:
        return None
    return {name.decode().lower() for name in subcommands}


def _subcommand_name(syntax: str) -> str | None:
    """The subcommand a syntax line documents, or None for lines such as "(no subcommand)"."""
    word = syntax.split(" ", 1)[0]
    if word and all(ch.isalnum() or ch in "-_" for ch in word):
        return word.lower()
    return None


def help_reply(command: str, entries: list[HelpEntry]) -> list[SimpleString]:
    """The HELP reply for ``command``: header, the served entries, then the HELP entry itself."""
    upper = command.upper()
    served = _served_filter(command)
    lines = [f"{upper} <subcommand> [<arg> ...]. Subcommands:"]
    for syntax, description in entries:
        name = _subcommand_name(syntax)
        if served is not None and name is not None and name not in served:
            continue
        lines.append(syntax)
        for text in [description] if isinstance(description, str) else description:
            lines.append(_INDENT + text)
    lines.append("HELP")
    lines.append(f"{_INDENT}Show this list of {upper} subcommands.")
    return [SimpleString(line.encode()) for line in lines]
