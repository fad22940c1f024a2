# watcher: a small image that runs `watcher run` as a non-root user, state in /data.
#
#   docker build -t watcher .
#   docker run -v watcher-data:/data -e WATCHER_MAIL__HOST=smtp.example.org -p 8080:8080 watcher
#
# BASE is any Debian-like image; an official slim Python image by default. A bare Debian base
# (CI builds from one) has no Python: it is installed from the distribution then.
# BROWSER=1 adds Playwright and Debian's Chromium, for sources with fetch = "browser"
# (and libatomic1, which Playwright's Node.js driver needs and a slim base lacks).
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
# Optional CA bundle for reaching the package index through an inspecting proxy.
ARG PIP_CERT=
ARG BROWSER=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
SHELL ["/bin/sh", "-eu", "-c"]
RUN if ! command -v python3 >/dev/null; then \
      apt-get update; \
      apt-get install -y --no-install-recommends python3 python3-venv ca-certificates; \
      rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python3 -m venv /opt/watcher \
 && /opt/watcher/bin/pip install --no-cache-dir ${PIP_CERT:+--cert "$PIP_CERT"} ".${BROWSER:+[browser]}" \
 && find /opt/watcher -name __pycache__ -prune -exec rm -rf {} +

FROM ${BASE}
ARG BROWSER=
SHELL ["/bin/sh", "-eu", "-c"]
RUN if ! command -v python3 >/dev/null; then \
      apt-get update; \
      apt-get install -y --no-install-recommends python3 ca-certificates; \
      rm -rf /var/lib/apt/lists/*; \
    fi \
 && if [ -n "$BROWSER" ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends chromium-headless-shell libatomic1; \
      rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin watcher \
 && mkdir -p /data /config \
 && chown watcher:watcher /data
COPY --from=build /opt/watcher /opt/watcher
COPY container/watcher.toml /config/watcher.toml
# Relative paths in the configuration ("data/watcher.db", "data/mail") land in /data.
WORKDIR /
ENV PATH=/opt/watcher/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    WATCHER_CONFIG=/config/watcher.toml \
    WATCHER_CACHE_DIR=/data/cache \
    WATCHER_SERVICE__LISTEN=0.0.0.0:8080
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["watcher", "healthcheck"]
# watcher itself is PID 1 and stops cleanly on SIGTERM.
STOPSIGNAL SIGTERM
ENTRYPOINT ["watcher"]
CMD ["run"]
