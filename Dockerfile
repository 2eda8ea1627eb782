# pyvalkey container image: a Valkey 9 compatible server, drop-in for valkey/valkey in tests and CI.
#
#   docker build -t pyvalkey .
#   docker run -d -p 6379:6379 pyvalkey
#   docker run -d -p 6379:6379 -v "$PWD/valkey.conf:/usr/local/etc/valkey/valkey.conf:ro" pyvalkey
#
# Works with testcontainers' ValkeyContainer("pyvalkey"): it runs `valkey-server ...` as the
# command, waits with `valkey-cli ping` inside the container and connects to port 6379.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The server never runs as root: a fixed system user owns /data.
RUN groupadd --system --gid 999 valkey \
    && useradd --system --uid 999 --gid valkey --home-dir /data --shell /usr/sbin/nologin valkey

WORKDIR /usr/src/pyvalkey
COPY pyproject.toml README.md ./
COPY pyvalkey ./pyvalkey
RUN pip install --no-cache-dir . \
    && rm -rf /usr/src/pyvalkey \
    && ln -s "$(command -v pyvalkey-server)" /usr/local/bin/valkey-server \
    && ln -s "$(command -v pyvalkey-cli)" /usr/local/bin/valkey-cli \
    && mkdir -p /data /usr/local/etc/valkey \
    && chown valkey:valkey /data

COPY --chmod=755 docker/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

VOLUME /data
WORKDIR /data
EXPOSE 6379
USER 999:999

# Healthy once the server answers PING (an error reply such as NOAUTH also proves it is up).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["pyvalkey-cli", "ping"]

ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["valkey-server"]
