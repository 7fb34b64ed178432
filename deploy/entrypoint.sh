#!/bin/sh
# The image's ENTRYPOINT (so `docker run` and compose alike): builds the settings that carry secrets
# from files mounted under /run/secrets (Docker/Compose secrets, Kubernetes secret volumes), then
# execs the command, which becomes PID 1 and gets SIGTERM itself. Nothing secret is in the image or
# in compose.yaml.
set -eu
# A secret that is mounted but unreadable would otherwise be skipped in silence, and the provider
# would start without it (a database login failing later, SMS refused): stop here and say why.
for secret in postgres_password sms_gateway_token; do
  if [ -e "/run/secrets/$secret" ] && [ ! -r "/run/secrets/$secret" ]; then
    echo "entrypoint: /run/secrets/$secret is not readable by uid $(id -u): chmod 0444 it, or chown it to $(id -u)" >&2
    exit 1
  fi
done
if [ -z "${IDP_DATABASE_URL:-}" ] && [ -r /run/secrets/postgres_password ]; then
  password=$(python -c 'import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read().strip(), safe=""))' /run/secrets/postgres_password)
  IDP_DATABASE_URL="postgresql://${DATABASE_USER:-idp}:${password}@${DATABASE_HOST:-postgres}:${DATABASE_PORT:-5432}/${DATABASE_NAME:-idp}"
  export IDP_DATABASE_URL
fi
if [ -z "${IDP_SMS_GATEWAY_TOKEN:-}" ] && [ -r /run/secrets/sms_gateway_token ]; then
  IDP_SMS_GATEWAY_TOKEN=$(cat /run/secrets/sms_gateway_token)
  export IDP_SMS_GATEWAY_TOKEN
fi
exec "$@"
