# shellcheck shell=bash
# Sourced, not run, by the scripts that start a daemon of their own (docker-engine.sh, moto-server.sh): the
# lock that serialises them, the pidfile that says which process is theirs, and how they stop it. The caller
# sets ROOT and defines log() before using these.

# Serialise concurrent callers (e.g. pytest-xdist workers); daemons started below must not inherit fd 9.
lock() { mkdir -p "$ROOT/.local"; exec 9>"$ROOT/.local/$1.lock"; flock 9; }

pid_in() {  # PIDFILE: prints the PID it holds, if that process is alive
  local pid
  [[ -f $1 ]] && pid=$(cat "$1" 2>/dev/null) && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
    printf '%s\n' "$pid"
}

stop_pid() {  # PID NAME SECONDS: SIGTERM, then SIGKILL if it has not exited within SECONDS
  local pid=$1 name=$2 i
  kill -TERM "$pid"
  for ((i = 0; i < $3 * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "$name $pid ignored SIGTERM; killing"
  kill -KILL "$pid" 2>/dev/null || true  # it may have exited since the last look
}
