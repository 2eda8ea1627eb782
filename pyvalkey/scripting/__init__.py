"""Lua scripting and functions: the Lua engine (lupa, Lua 5.1), its sandbox and ``server.*`` API,
the libraries Valkey ships to scripts, and serving other clients while a script runs long.

The commands themselves (EVAL, SCRIPT, FUNCTION, FCALL) are in ``pyvalkey.commands.scripting``.
"""
