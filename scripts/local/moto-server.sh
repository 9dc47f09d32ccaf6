#!/usr/bin/env bash
# Runs a moto server (from .venv) for the local SAM loop: start|stop|status|url|host-url|binds (url = what a
# function container must use; binds = the addresses it listens on: the loopback and the container bridge's gateway).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/scripts/local
PORT=${MOTO_PORT:-5055}
STATE=$ROOT/.local/moto
PIDFILE=$STATE/moto-$PORT.pid
LOG=$STATE/moto-$PORT.log
PYTHON=${MOTO_PYTHON:-$ROOT/.venv/bin/python}
BINDS_FILE=$STATE/moto-$PORT.binds
WAIT=${MOTO_WAIT:-30}
PORT_TAKEN=3  # start's exit status when another process holds the port

log() { echo "moto-server.sh: $*" >&2; }
# shellcheck source=scripts/local/daemon.sh
source "$HERE/daemon.sh"

answers() {  # GET /moto-api/ on the host side
  local url=http://127.0.0.1:$PORT/moto-api/
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null
  else
    "$ROOT/.venv/bin/python" -c "import urllib.request as u; u.urlopen('$url', timeout=2)" 2>/dev/null
  fi
}
our_pid() { pid_in "$PIDFILE"; }

listening() {  # anything at all accepts connections on the port
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

start() {
  lock "moto-$PORT"
  local wanted
  wanted=$(binds)
  # Ours, and listening where it should: a server started before the engine lacks the gateway, so it restarts.
  if our_pid >/dev/null && answers && [[ $(cat "$BINDS_FILE" 2>/dev/null) == "$wanted" ]]; then return 0; fi
  # Whoever starts a server here resets it (the demo, the local tests): a world someone else made is not ours.
  if ! our_pid >/dev/null && { answers || listening; }; then
    log "port $PORT is taken by a process this script did not start; refusing to use it (its state is" \
      "not ours to reset). Stop that process, or choose another port: MOTO_PORT=<port> $0 start"
    exit "$PORT_TAKEN"
  fi
  [[ -x $PYTHON ]] || { log "$PYTHON not found; run scripts/local/venv.sh first"; exit 1; }
  stop
  mkdir -p "$STATE"
  # Never 0.0.0.0: the loopback for the host's clients, and the bridge gateway, through which the function
  # containers reach the host (scripts/local/README.md, "Where the embedded AWS listens").
  # Dummy credentials: nothing here may ever talk to real AWS. The request recorder (off until a caller starts
  # it) writes beside the log: the pipeline reads the exact SendEmail requests from it.
  local bind args=()
  for bind in $wanted; do args+=(-H "$bind"); done
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing AWS_DEFAULT_REGION=us-east-1 \
    MOTO_RECORDER_FILEPATH="$STATE/moto-$PORT.recording" PYTHONPATH=$ROOT \
    setsid "$PYTHON" -m scripts.pipeline.moto_server "${args[@]}" -p "$PORT" </dev/null >>"$LOG" 2>&1 9>&- &
  echo $! > "$PIDFILE"
  printf '%s\n' "$wanted" > "$BINDS_FILE"
  local i
  for ((i = 0; i < WAIT * 10; i++)); do
    if answers; then return 0; fi
    if ! our_pid >/dev/null; then log "moto_server exited; last log lines:"; tail -n 20 "$LOG" >&2; exit 1; fi
    sleep 0.1
  done
  log "moto_server did not answer within ${WAIT}s; see $LOG"; exit 1
}

stop() {
  local pid
  pid=$(our_pid) || { rm -f "$PIDFILE"; return 0; }
  stop_pid "$pid" moto_server 5
  rm -f "$PIDFILE" "$BINDS_FILE"
}

status() {
  local pid
  if pid=$(our_pid) && answers; then echo "moto server running (pid $pid, port $PORT)"; return 0; fi
  if answers; then echo "a moto server not started by this script answers on port $PORT"; return 0; fi
  echo "no moto server on port $PORT"; return 1
}

bridge_gateway() {  # IPAM gateway, else the subnet's first address (what docker assigns by default)
  local gw sub
  gw=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}} {{end}}' 2>/dev/null | awk '{print $1}') || true
  if [[ -z $gw ]]; then
    sub=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Subnet}} {{end}}' 2>/dev/null | awk '{print $1}') || true
    [[ $sub =~ ^([0-9]+\.[0-9]+\.[0-9]+)\.0/ ]] && gw=${BASH_REMATCH[1]}.1
  fi
  [[ -n $gw ]] || gw=$(docker network inspect podman --format '{{range .Subnets}}{{.Gateway}} {{end}}' 2>/dev/null |
    awk '{print $1}') || true
  printf '%s\n' "$gw"
}

container_host() {  # the IP a Lambda container reaches the host at, or nothing when no engine runs
  local gw=${MOTO_CONTAINER_HOST:-} env_lines
  if [[ -z $gw ]] && env_lines=$("$HERE/docker-engine.sh" env 2>/dev/null); then
    eval "$env_lines"
    gw=$(bridge_gateway)
    if [[ $(docker info --format '{{.OperatingSystem}}' 2>/dev/null) == *"Docker Desktop"* ]]; then
      log "Docker Desktop: the bridge gateway is inside its VM; set MOTO_CONTAINER_HOST to the IP of host.docker.internal"
    fi
  fi
  printf '%s\n' "$gw"
}

binds() {  # the addresses the server listens on: MOTO_BIND, else the loopback and the container host (if any)
  if [[ -n ${MOTO_BIND:-} ]]; then echo "$MOTO_BIND"; return 0; fi
  local gw
  gw=$(container_host)
  if [[ -n $gw && $gw != 127.0.0.1 ]]; then echo "127.0.0.1 $gw"; else echo 127.0.0.1; fi
}

url() {  # the address a Lambda container uses: the bridge gateway IP (never a hostname: moto S3 reads it as a bucket)
  local gw
  gw=$(container_host)
  if [[ -z $gw ]]; then
    gw=127.0.0.1
    log "no Docker engine/bridge found: printing the host-side URL, which a container cannot reach"
  fi
  echo "http://$gw:$PORT"
}

case "${1:-}" in
  start) start ;;
  stop) lock "moto-$PORT"; stop ;;
  status) status ;;
  url) url ;;
  host-url) echo "http://127.0.0.1:$PORT" ;;
  binds) binds ;;
  *) echo "usage: $0 start|stop|status|url|host-url|binds   (env: MOTO_PORT, MOTO_CONTAINER_HOST, MOTO_BIND)" >&2; exit 2 ;;
esac
