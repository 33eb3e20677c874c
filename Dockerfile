# Orderly's image: `docker build -t orderly .`, then
# `docker run -p 8000:8000 -v orderly-data:/data orderly` (SQLite in the volume), or
# `docker compose up` for Orderly on PostgreSQL (compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data --create-home orderly

USER orderly
WORKDIR /data
ENV ORDERLY_DATABASE_URL=sqlite:////data/orderly.db
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

CMD ["orderly", "serve", "--host", "0.0.0.0", "--port", "8000"]
