# The provider as a container: `idp serve` as a non-root user, data and keys on volumes.
# Production sets IDP_ISSUER (https), IDP_DATABASE_URL (PostgreSQL) and mounts real keys.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MALLOC_ARENA_MAX=2 \
    IDP_DATA_DIR=/var/lib/idp \
    IDP_KEYS_DIR=/var/lib/idp-keys \
    IDP_ISSUER=http://127.0.0.1:8000

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/idp --shell /usr/sbin/nologin idp \
 && mkdir -p /var/lib/idp /var/lib/idp-keys \
 && chown idp:idp /var/lib/idp /var/lib/idp-keys

WORKDIR /opt/idp
COPY pyproject.toml README.md ./
COPY idp ./idp
RUN pip install . && rm -rf /opt/idp/idp
COPY deploy/entrypoint.sh ./deploy/entrypoint.sh

USER idp
VOLUME ["/var/lib/idp", "/var/lib/idp-keys"]
EXPOSE 8000
# SIGTERM: stop accepting, let requests in flight finish (IDP_SHUTDOWN_TIMEOUT), then exit.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["idp", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
