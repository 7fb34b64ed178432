#!/bin/sh
# Builds the settings that carry secrets from files mounted under /run/secrets (Docker/Compose
# secrets, Kubernetes secret volumes), then runs the command. Nothing secret is in the image or
# in compose.yaml.
set -eu
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
