# Worth Knowing: one image for every process (web, clock, migrate, admin commands).
# Build: docker build -t worth-knowing .   Run them all: docker compose up -d (compose.yaml).
FROM python:3.11-slim

# MPLCONFIGDIR: matplotlib (the charts) keeps its font cache there; /app is not writable.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
RUN pip install '.[postgres]' \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir /data && chown app:app /data

# Never root: the app needs no privilege, and /data is the only place it writes (SQLite:
# mount a volume there to keep it).
USER app
ENV PORT=3000 \
    DATABASE_URL=sqlite:////data/worthknowing.db
EXPOSE 3000

# Healthy while /healthz answers 2xx (any body); a refused connection or a 503 is unhealthy.
# Only the web process serves it: compose turns it off for the others.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

# With SQLite this also runs the clock; with PostgreSQL see compose.yaml.
CMD ["python", "-m", "bot", "serve"]
