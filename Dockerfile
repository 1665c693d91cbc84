# The Airlock gateway (`airlock serve`) as a container: docs/replicas.md runs two of them behind
# HAProxy with PostgreSQL and Redis (compose.yaml).
#   docker build -t airlock .
FROM python:3.11-slim

# torch first, from PyTorch's CPU index: a bare `torch` requirement would pull a multi-GB GPU
# build (the same pin as the Makefile). GPU models are served by engines or upstreams.
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir ".[serve,scale]" && rm -rf /src

# A user of its own; AIRLOCK_HOME holds the usage journal and the verified model copies.
RUN useradd --system --uid 10001 --home-dir /var/lib/airlock --create-home airlock
USER airlock
ENV AIRLOCK_HOME=/var/lib/airlock \
    PYTHONUNBUFFERED=1
WORKDIR /var/lib/airlock
EXPOSE 8000

# Liveness: the process answers. Load balancers use /health/ready (database and Redis).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2)"]

ENTRYPOINT ["airlock"]
CMD ["serve", "--config", "/etc/airlock/serve.toml"]
