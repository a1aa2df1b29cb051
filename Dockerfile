# Webcare Router. Runs exactly the README's commands: `python3 -m venv .venv && .venv/bin/pip install -q -e .`,
# then `.venv/bin/webcare serve` (which migrates first). Not built in CI (no Docker engine there).
FROM python:3.11-slim AS build
WORKDIR /srv/webcare
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
COPY routing_rules ./routing_rules
RUN python3 -m venv .venv && .venv/bin/pip install -q -e .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 webcare
WORKDIR /srv/webcare
COPY --from=build --chown=webcare /srv/webcare /srv/webcare
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
