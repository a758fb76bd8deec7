# syntax=docker/dockerfile:1
# The trafficcast image: one image for every role (API, stream processor, trainer,
# migrations); the command picks the role. Build from the repository root:
#   docker build -t trafficcast:0.1.0 .

# --- the dashboard: static files the API serves --------------------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npx tsc --noEmit && npx vite build --outDir /build/dist --emptyOutDir

# --- the Python package, built once into wheels --------------------------------------
FROM python:3.11-slim-bookworm AS wheels
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src/ src/
COPY --from=web /build/dist src/trafficcast/web/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- the runtime ---------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TRAFFICCAST_DATA_DIR=/var/lib/trafficcast \
    TRAFFICCAST_HOST=0.0.0.0
# libgomp: LightGBM's OpenMP runtime (the slim image lacks it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/trafficcast --create-home trafficcast
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels trafficcast
USER 10001
WORKDIR /var/lib/trafficcast
VOLUME ["/var/lib/trafficcast"]
EXPOSE 8000 9100
# No HEALTHCHECK here: the roles answer on different ports (API /health on 8000, a
# processor's /metrics on 9100, the trainer on none); compose and Kubernetes probe each.
ENTRYPOINT ["trafficcast"]
CMD ["serve", "--port", "8000"]
