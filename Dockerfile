# Webcare Router. Installs the locked versions (`requirements.lock`, every file checked against its
# sha256), then the service itself as a plain (non-editable) package, and runs `webcare serve`
# (which migrates first). Not built in CI (no Docker engine there).
FROM python:3.11-slim AS build
WORKDIR /srv/webcare
COPY requirements.lock ./
RUN python3 -m venv .venv && .venv/bin/pip install -q --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN .venv/bin/pip install -q --no-cache-dir --no-deps .
COPY routing_rules ./routing_rules

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 webcare \
 && mkdir -p /srv/webcare/var && chown webcare /srv/webcare/var
WORKDIR /srv/webcare
COPY --from=build --chown=webcare /srv/webcare/.venv /srv/webcare/.venv
COPY --from=build --chown=webcare /srv/webcare/routing_rules /srv/webcare/routing_rules
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
