# Webcare Router. Runs exactly what CI exercises: `pip install .` then `webcare serve` (which migrates first).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 webcare
COPY --from=build /venv /venv
WORKDIR /srv/webcare
COPY --chown=webcare routing_rules ./routing_rules
USER webcare
ENV PATH="/venv/bin:$PATH" \
    WEBCARE_ENV=production \
    WEBCARE_HOST=0.0.0.0 \
    WEBCARE_PORT=8000 \
    WEBCARE_RULES_DIR=/srv/webcare/routing_rules \
    WEBCARE_VAR_DIR=/srv/webcare/var
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["webcare", "serve"]
