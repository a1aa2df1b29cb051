# The sample department receiver (examples/department_receiver), for deploy/compose.yaml.
FROM python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b
WORKDIR /srv/receiver
COPY requirements-test.lock ./
RUN python3 -m venv .venv && .venv/bin/pip install -q --no-cache-dir --require-hashes -r requirements-test.lock
COPY examples ./examples
USER nobody
EXPOSE 8801
