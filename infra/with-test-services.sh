#!/usr/bin/env bash
# Ensure PostgreSQL and RabbitMQ are up on loopback, run the given command, stop what we started.
set -uo pipefail

started=()

log() { echo "[test-services] $*" >&2; }

port_open() { timeout 2 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 120); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null && ! command -v postgres >/dev/null; then
    log "installing PostgreSQL"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  if ! port_open 5432; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
    started+=(postgres)
    wait_port 5432 || { log "PostgreSQL did not start"; return 1; }
  fi
  if ! PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    # TCP auth may be scram-sha-256 with no password for postgres (infra-notes): give it one.
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
    export RISCOSSA_TEST_SERVER_URL="postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"
  fi
}

ensure_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null; then
    log "installing RabbitMQ"
    mkdir -p /etc/rabbitmq
    printf 'listeners.tcp.default = 127.0.0.1:5672\nmanagement.tcp.ip = 127.0.0.1\n' > /etc/rabbitmq/rabbitmq.conf
    printf 'NODE_IP_ADDRESS=127.0.0.1\nERL_EPMD_ADDRESS=127.0.0.1\n' > /etc/rabbitmq/rabbitmq-env.conf
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  fi
  if ! port_open 5672; then
    log "starting RabbitMQ"
    rabbitmq-server -detached
    started+=(rabbitmq)
    rabbitmqctl await_startup --timeout 120 >/dev/null || { log "RabbitMQ did not start"; return 1; }
  fi
}

stop_started() {
  for s in "${started[@]}"; do
    case "$s" in
      postgres) log "stopping PostgreSQL"; pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main stop ;;
      rabbitmq) log "stopping RabbitMQ"; rabbitmqctl stop >/dev/null 2>&1 ;;
    esac
  done
}
trap stop_started EXIT

ensure_postgres || exit 1
ensure_rabbitmq || exit 1
"$@"
