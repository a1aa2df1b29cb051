# Webcare Router. Installs the locked versions (`requirements.lock`, every file checked against its
# sha256), then the service itself as a plain (non-editable) package, and runs `webcare serve`
# (which migrates first). Not built in CI (no Docker engine there).
#
# The base image is pinned by digest, so a rebuild gets the same operating system files. To move to
# a newer base: `docker buildx imagetools inspect python:3.11-slim-bookworm`, then replace the
# digest in the BASE argument (and rebuild and run the suite against the image).
ARG BASE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b
FROM ${BASE} AS build
WORKDIR /srv/webcare
COPY requirements.lock ./
RUN python3 -m venv .venv && .venv/bin/pip install -q --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN .venv/bin/pip install -q --no-cache-dir --no-deps .
COPY routing_rules ./routing_rules

FROM ${BASE}
RUN useradd --create-home --uid 10001 webcare \
 && mkdir -p /srv/webcare/var && chown webcare /srv/webcare/var
WORKDIR /srv/webcare
# The application and its rules belong to root and are read-only to the service's user: a
# compromised process cannot change the code it runs. Only var/ is the user's.
COPY --from=build /srv/webcare/.venv /srv/webcare/.venv
COPY --from=build /srv/webcare/routing_rules /srv/webcare/routing_rules
USER webcare
ENV WEBCARE_ENV=production \
    WEBCARE_HOST=0.0.0.0 \
    WEBCARE_PORT=8000 \
    WEBCARE_RULES_DIR=/srv/webcare/routing_rules \
    WEBCARE_VAR_DIR=/srv/webcare/var
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD .venv/bin/python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD [".venv/bin/webcare", "serve"]
