# The provider as a container: `idp serve` as the non-root user idp (uid and gid 10001), data and keys on
# volumes. Production sets IDP_ISSUER (https) and IDP_DATABASE_URL (PostgreSQL) and mounts keys made
# beforehand (README.md, "The container image"). scripts/image-test builds this file and checks the result.

# Build stage: the provider and every dependency as wheels (nothing is compiled: all ship binary wheels),
# installed from those wheels alone into a virtualenv. Only that virtualenv reaches the final stage:
# no sources, no build tree, no *.egg-info, no wheel files, no pip.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# strip (binutils), for this stage only: the wheels' extension modules carry debug symbols (uvloop's
# 13.6 MB event loop is 1.6 MB stripped); stripped, the virtualenv is about a quarter smaller.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils >/dev/null
WORKDIR /src
# The dependencies (and setuptools, to build ours) from pyproject.toml alone, in a layer of their own:
# a change to the code rebuilds only the steps below, offline.
COPY pyproject.toml ./
RUN mkdir idp && touch README.md idp/__init__.py \
 && python -m pip wheel --wheel-dir /wheels . "setuptools>=69" \
 && rm -r /wheels/postid_idp-* idp README.md
COPY README.md ./
COPY idp ./idp
# greenlet (SQLAlchemy's asyncio bridge) ships its own test suite, two compiled test extensions among
# it, that imports psutil: nothing the provider runs, so it stays out of the image.
RUN python -m pip wheel --no-index --find-links /wheels --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/idp/venv \
 && /opt/idp/venv/bin/python -m pip install --no-index --find-links /wheels postid-idp \
 && /opt/idp/venv/bin/python -m pip uninstall -y pip setuptools \
 && rm -r /opt/idp/venv/lib/python3.11/site-packages/greenlet/tests \
 && find /opt/idp/venv -name "*.so*" -type f -exec strip --strip-unneeded {} +

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=1 \
    MALLOC_MMAP_THRESHOLD_=33554432 \
    MALLOC_TRIM_THRESHOLD_=1073741824 \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
    PATH=/opt/idp/venv/bin:$PATH \
    IDP_DATA_DIR=/var/lib/idp \
    IDP_KEYS_DIR=/var/lib/idp-keys \
    IDP_ISSUER=http://localhost:8000 \
    IDP_METRICS_ADDRESS=0.0.0.0:9464

# The base image's pip goes too: nothing is installed at run time. Data and keys folders are 0700,
# as the provider keeps them (SECURITY.md, "Files at rest").
RUN python -m pip uninstall -y -q pip setuptools wheel \
 && groupadd --system --gid 10001 idp \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/idp --shell /usr/sbin/nologin idp \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/idp /var/lib/idp-keys
COPY --from=build /opt/idp/venv /opt/idp/venv
COPY deploy/entrypoint.sh deploy/healthcheck.py /opt/idp/deploy/

WORKDIR /var/lib/idp
# Numeric, so a platform that only allows non-root users (Kubernetes runAsNonRoot) can check it.
USER 10001:10001
VOLUME ["/var/lib/idp", "/var/lib/idp-keys"]
# 8000: the provider; 9464: Prometheus /metrics on its own listener (IDP_METRICS_ADDRESS), for a
# private network only: publish 8000 alone.
EXPOSE 8000 9464
# SIGTERM: stop accepting, let requests in flight finish (IDP_SHUTDOWN_TIMEOUT), then exit.
STOPSIGNAL SIGTERM
# Healthy means ready (/readyz: database, storage, keys), on whatever port `idp serve` was given.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "/opt/idp/deploy/healthcheck.py"]
# Secrets from /run/secrets become settings, then the command runs as PID 1 (exec).
ENTRYPOINT ["/bin/sh", "/opt/idp/deploy/entrypoint.sh"]
CMD ["idp", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
