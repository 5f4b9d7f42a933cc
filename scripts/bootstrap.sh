#!/usr/bin/env bash
# Everything `make scenario` and `make test` need, installed if missing:
#   1. a virtualenv with the package (.[dev], plus .[native] stand-ins where no Docker engine answers);
#   2. where no Docker engine answers: PostgreSQL, Redis and InfluxDB server binaries, and the brokers of the
#      events experiment (nats-server; rabbitmq-server, which pulls Erlang: ~31 s to install here); everywhere:
#      headless Chromium and chromedriver for the report tests
#      (Debian/Ubuntu packages when running as root; otherwise a message naming what to install).
set -euo pipefail
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

docker_engine() { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }

if docker_engine; then extras="dev"; else extras="dev,native"; fi
stamp="$VENV/.installed-$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON not found: install Python >= 3.11" >&2; exit 2; }
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "error: Python >= 3.11 is needed ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 2; }
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[$extras]"
  rm -f "$VENV"/.installed-*; touch "$stamp"
fi

missing=()
# Headless Chromium renders report.html and compare.html in the tests (Debian's chromium + its driver).
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# `sandbox up --tls` makes its throwaway CA with openssl (the TLS tests do too).
command -v openssl >/dev/null || missing+=(openssl)
if ! docker_engine; then
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null || missing+=(postgresql postgresql-contrib)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v influxd >/dev/null || missing+=(influxdb)
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  # The partition scenario and its tests: a network namespace and veth pair (ip), entered with nsenter.
  command -v ip >/dev/null || missing+=(iproute2)
  command -v nsenter >/dev/null || missing+=(util-linux)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} (Debian packages; the sandbox runs its own server instances on other ports)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "error: these packages are missing: ${missing[*]} (servers where no Docker engine answers; chromium" >&2
  echo "       for the report tests). Install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]})." >&2
  exit 2
fi
