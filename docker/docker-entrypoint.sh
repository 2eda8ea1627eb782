#!/bin/sh
# Entrypoint of the pyvalkey container image (the same conventions as the valkey/valkey image).
#
#   docker run IMAGE                                   -> valkey-server --protected-mode no
#   docker run IMAGE --port 7000 --requirepass x       -> valkey-server --port 7000 --requirepass x ...
#   docker run IMAGE /etc/my/valkey.conf --loglevel v  -> valkey-server /etc/my/valkey.conf --loglevel v
#   docker run IMAGE valkey-server --appendonly yes    -> as written (testcontainers' with_command)
#   docker run IMAGE valkey-cli -h host ping           -> any other program runs as it is
#
# A file mounted at $VALKEY_CONFIG (default /usr/local/etc/valkey/valkey.conf) is loaded when the
# server is started without a config file of its own. Without any config file the server gets
# "--protected-mode no": port publishing makes every client look remote to the server, and the
# image's users expect to reach it (the official image does the same).
set -eu

: "${VALKEY_CONFIG:=/usr/local/etc/valkey/valkey.conf}"
: "${VALKEY_SERVER:=valkey-server}"

# Options or a config file alone mean "valkey-server with these".
case "${1:-}" in
    "" | -* | *.conf)
        set -- valkey-server "$@"
        ;;
esac

case "$1" in
    valkey-server | pyvalkey-server | redis-server)
        shift
        case "${1:-}" in
            -v | --version | -h | --help | --test-memory | --check-system)
                exec "$VALKEY_SERVER" "$@"
                ;;
        esac
        if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
            # No config file on the command line.
            if [ -f "$VALKEY_CONFIG" ]; then
                set -- "$VALKEY_CONFIG" "$@"
            else
                set -- --protected-mode no "$@"
            fi
        fi
        # Data files readable by the server's user only, as Valkey's own image does.
        umask 0077
        exec "$VALKEY_SERVER" "$@"
        ;;
esac

exec "$@"
