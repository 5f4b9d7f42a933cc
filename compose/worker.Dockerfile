# The sandbox as a load-worker image (compose/workers.yml, k8s/). Built from the project root:
#   docker build -f compose/worker.Dockerfile -t polyglot-sandbox-worker:0.1.0 .
FROM python:3.12.8-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sandbox ./sandbox
COPY scenarios ./scenarios
# uid 1000, and /results owned by it: a new named volume mounted there starts with this owner.
RUN pip install --no-cache-dir . && useradd --create-home --uid 1000 worker && mkdir /results && chown worker /results
USER worker
ENTRYPOINT ["sandbox"]
