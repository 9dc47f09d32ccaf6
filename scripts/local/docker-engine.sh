#!/usr/bin/env bash
# Provides a Docker API for `sam local`: the ambient one if it works, else a project-local dockerd (start|stop|status|env).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=$ROOT/.local/docker            # data-root, pidfile, log (no sockets needed here)
PIDFILE=$STATE/dockerd.pid
LOG=$STATE/dockerd.log

# Unix socket paths are capped at 108 bytes, and dockerd/containerd put sockets under exec-root
# (e.g. exec-root/containerd/containerd.sock.ttrpc). On a long project path, keep the sockets under
# a short /tmp dir keyed by the project path so two checkouts never share one.
RUNDIR=$STATE
if (( ${#STATE} > 60 )); then
  RUNDIR=/tmp/gk-docker-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
fi
SOCK=$RUNDIR/docker.sock
EXECROOT=$RUNDIR/exec
HOST=unix://$SOCK
WAIT=${DOCKER_ENGINE_WAIT:-60}

log() { echo "docker-engine.sh: $*" >&2; }
# shellcheck source=scripts/local/daemon.sh
source "$ROOT/scripts/local/daemon.sh"

our_pid() { pid_in "$PIDFILE"; }  # prints the PID of the dockerd we started, if it is alive
ours_answers() { timeout 10 docker -H "$HOST" info >/dev/null 2>&1; }
ambient_answers() {
  command -v docker >/dev/null 2>&1 || return 1
  [[ ${DOCKER_HOST:-} == "$HOST" ]] && return 1   # that's ours, not ambient
  timeout 10 docker info >/dev/null 2>&1
}

install_engine() {
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 && return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "no working Docker and cannot install one (need root + apt-get). Install Docker, or set DOCKER_HOST."
    exit 1
  fi
  log "installing docker.io with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q docker.io >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q docker.io >/dev/null; }
}

start() {
  lock docker-engine
  if our_pid >/dev/null && ours_answers; then return 0; fi
  if ! our_pid >/dev/null && ambient_answers; then log "using the ambient Docker engine"; return 0; fi
  install_engine
  if pid=$(our_pid); then
    log "dockerd (pid $pid) is up but not answering; restarting it"; stop
  fi
  mkdir -p "$STATE/data" "$EXECROOT"
  rm -f "$SOCK" "$PIDFILE"
  log "starting dockerd (socket $SOCK, log $LOG)"
  # setsid: the daemon must outlive the calling shell and its process group.
  setsid dockerd \
    --data-root "$STATE/data" --exec-root "$EXECROOT" --pidfile "$PIDFILE" \
    -H "$HOST" --log-level "${DOCKERD_LOG_LEVEL:-warn}" \
    </dev/null >>"$LOG" 2>&1 9>&- &
  local i
  for ((i = 0; i < WAIT * 4; i++)); do
    if ours_answers; then return 0; fi
    if ! kill -0 $! 2>/dev/null; then log "dockerd exited; last log lines:"; tail -n 20 "$LOG" >&2; exit 1; fi
    sleep 0.25
  done
  log "dockerd did not answer within ${WAIT}s; see $LOG"; exit 1
}

stop() {
  local pid
  pid=$(our_pid) || { rm -f "$PIDFILE"; return 0; }
  stop_pid "$pid" dockerd 30
  rm -f "$PIDFILE" "$SOCK"
}

status() {
  if pid=$(our_pid) && ours_answers; then echo "project dockerd running (pid $pid, $HOST)"; return 0; fi
  if ambient_answers; then echo "ambient Docker engine (${DOCKER_HOST:-default socket})"; return 0; fi
  echo "no Docker engine"; return 1
}

env_lines() {  # nothing to export when the ambient engine works
  if our_pid >/dev/null && ours_answers; then echo "export DOCKER_HOST=$HOST"; return 0; fi
  if ambient_answers; then return 0; fi
  log "no Docker engine is running; run: $0 start"; return 1
}

case "${1:-}" in
  start) start ;;
  stop) lock docker-engine; stop ;;
  status) status ;;
  env) env_lines ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
