#!/usr/bin/env bash
# Ensures the Lambda python3.13 base image SAM builds FROM exists: present, else pulled, else a stand-in built from local files.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/scripts/local
IMAGE=${LAMBDA_BASE_IMAGE:-public.ecr.aws/lambda/python:3.13-x86_64}
LABEL=groundskeeper.base-inputs
BUILD=$ROOT/.local/lambda-base
PULL=${LAMBDA_BASE_PULL:-1}
PULL_TIMEOUT=${LAMBDA_BASE_PULL_TIMEOUT:-30}

log() { echo "lambda-base-image.sh: $*" >&2; }

eval "$("$HERE/docker-engine.sh" env)"
mkdir -p "$ROOT/.local"
exec 9>"$ROOT/.local/lambda-base-image.lock"   # one build at a time (e.g. pytest-xdist workers)
flock 9

PY=$("$HERE/python.sh")
PREFIX=$("$PY" -c 'import sys; print(sys.base_prefix)')
# pip for /var/runtime runs under the project venv when there is one (same 3.13 ABI, warm pip cache).
PIPPY=$PY
[[ -x $ROOT/.venv/bin/python ]] && PIPPY=$ROOT/.venv/bin/python

# Pin the runtime packages to what the venv has, so the image matches what tests run against.
pkg_version() { "$PIPPY" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true; }
RIC_VERSION=${AWSLAMBDARIC_VERSION:-$(pkg_version awslambdaric)}
BOTO3_VERSION=${BOTO3_VERSION:-$(pkg_version boto3)}
RIE=$("$PIPPY" -c 'import os, samcli; print(os.path.join(os.path.dirname(samcli.__file__), "local", "rapid", "aws-lambda-rie-x86_64"))' 2>/dev/null || true)
[[ -n $RIE && -f $RIE ]] || RIE=

busybox_static() {  # prints a statically linked busybox, installing Debian's busybox-static if needed
  local b
  for b in "$(command -v busybox 2>/dev/null || true)" /bin/busybox /usr/bin/busybox; do
    [[ -n $b && -x $b ]] || continue
    if ! ldd "$b" >/dev/null 2>&1; then printf '%s\n' "$b"; return 0; fi  # ldd fails on static binaries
  done
  log "installing busybox-static with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >/dev/null; }
  printf '%s\n' /bin/busybox
}

inputs_hash() {
  {
    sha256sum < "${BASH_SOURCE[0]}"
    "$PY" -VV; sha256sum < "$PY"
    echo "awslambdaric=$RIC_VERSION boto3=$BOTO3_VERSION"
    [[ -n $RIE ]] && sha256sum < "$RIE"
    sha256sum < "$BUSYBOX"
  } | sha256sum | cut -c1-16
}

image_id() { docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true; }
image_label() { docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$IMAGE" 2>/dev/null || true; }

remove_derived() {  # --skip-pull-image means SAM never notices a new base: drop what it built FROM the old one
  local old=$1 refs
  refs=$(docker images --format '{{.Repository}}:{{.Tag}}' |
    grep -E '(:3\.13-rapid-|^samcli/lambda-python:3\.13-)' || true)
  if [[ -n $refs ]]; then
    log "removing derived images: ${refs//$'\n'/ }"
    # shellcheck disable=SC2086
    docker rmi -f $refs >/dev/null 2>&1 || true
  fi
  [[ -n $old ]] && docker rmi "$old" >/dev/null 2>&1 || true
}

copy_with_libs() {  # copies each shared library that ldd lists for the given ELF files, at the same path
  local line lib
  ldd "$@" 2>/dev/null | while read -r line; do
    lib=
    case $line in
      *:) continue ;;  # "file:" headers when ldd gets several files
      *"=> not found"*) log "warning: missing library: $line" ;;
      *"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
      /*) lib=${line%% (*} ;;
      *) continue ;;
    esac
    [[ -n $lib && -e $lib && ! -e $R$lib && $lib != "$PREFIX"/* ]] || continue
    mkdir -p "$R$(dirname "$lib")"
    cp -L "$lib" "$R$lib"
  done
}

build() {
  R=$BUILD/rootfs
  rm -rf "$R"
  mkdir -p "$R"/{bin,etc,tmp,opt,var/task,var/runtime,var/lang/bin,var/lang/lib,usr/bin,usr/local/bin,root}
  chmod 1777 "$R/tmp"

  # busybox gives the sh/mv/chmod/cp that SAM's derived Dockerfile RUNs.
  cp "$BUSYBOX" "$R/bin/busybox"
  local applet
  for applet in $("$BUSYBOX" --list); do
    [[ -e $R/bin/$applet ]] || ln -s busybox "$R/bin/$applet"
  done
  ln -s /bin/busybox "$R/usr/bin/env"

  # CPython at /var/lang. The stdlib keeps its plain .pyc files (not opt-1/opt-2): without them every
  # fresh container would recompile what it imports on each cold start.
  cp -L "$PY" "$R/var/lang/bin/python3.13"
  ln -s python3.13 "$R/var/lang/bin/python3"
  ln -s python3.13 "$R/var/lang/bin/python"
  cp -a "$PREFIX"/lib/libpython3*.so* "$R/var/lang/lib/" 2>/dev/null || true
  tar -C "$PREFIX/lib" -c \
    --exclude='python3.13/test' --exclude='python3.13/idlelib' --exclude='python3.13/tkinter' \
    --exclude='python3.13/turtledemo' --exclude='python3.13/ensurepip' --exclude='python3.13/site-packages/*' \
    --exclude='python3.13/config-3.13*' --exclude='python3.13/lib-dynload/_test*' \
    --exclude='python3.13/lib-dynload/_tkinter*' --exclude='python3.13/lib-dynload/xx*' \
    --exclude='*.opt-1.pyc' --exclude='*.opt-2.pyc' --exclude='*/__pycache__/_test*' \
    python3.13 | tar -C "$R/var/lang/lib" -x
  mkdir -p "$R/var/lang/lib/python3.13/site-packages"
  # The binary's RUNPATH names its build prefix (pyenv): make that path resolve inside the image too.
  case $PREFIX in
    /usr | /usr/local | /var/lang) ;;
    *) mkdir -p "$R$(dirname "$PREFIX")"; ln -s /var/lang "$R$PREFIX" ;;
  esac

  # awslambdaric + boto3 where the managed runtime keeps its own packages.
  "$PIPPY" -m pip install -q --disable-pip-version-check --no-warn-script-location --no-warn-conflicts --target "$R/var/runtime" \
    "awslambdaric${RIC_VERSION:+==$RIC_VERSION}" "boto3${BOTO3_VERSION:+==$BOTO3_VERSION}" 2>&1 |
    { grep -vE "Location .* is ignored" || true; } >&2
  rm -rf "$R/var/runtime/bin"

  # Shared libraries (incl. the dynamic loader), plus libgcc_s that glibc dlopens for thread cancellation.
  mapfile -t elves < <(find "$R/var/lang" "$R/var/runtime" -type f \( -name '*.so' -o -name '*.so.*' \) ; echo "$R/var/lang/bin/python3.13")
  copy_with_libs "${elves[@]}"
  local gcc_s
  # No pipe, and awk reads to the end: under pipefail a reader that stops early (awk's exit, head,
  # grep -q) can kill its writer with SIGPIPE, and the script's status would then depend on timing.
  local ldcache
  ldcache=$(ldconfig -p 2>/dev/null) || ldcache=
  gcc_s=$(awk '/libgcc_s\.so\.1 .*x86-64/ && !found {found = 1; print $NF}' <<<"$ldcache")
  if [[ -n $gcc_s && ! -e $R$gcc_s ]]; then mkdir -p "$R$(dirname "$gcc_s")"; cp -L "$gcc_s" "$R$gcc_s"; fi
  # The rest of glibc, which the managed image ships whether or not the runtime links it: a function's
  # compiled wheels may (nh3's extension needs librt.so.1).
  local glibc_lib glibc_path
  for glibc_lib in libc.so.6 libm.so.6 librt.so.1 libpthread.so.0 libdl.so.2 libutil.so.1 libresolv.so.2 libanl.so.1; do
    glibc_path=$(awk -v name="$glibc_lib" '$1 == name && /x86-64/ && !found {found = 1; print $NF}' <<<"$ldcache")
    if [[ -n $glibc_path && ! -e $R$glibc_path ]]; then
      mkdir -p "$R$(dirname "$glibc_path")"
      cp -L "$glibc_path" "$R$glibc_path"
    fi
  done

  if [[ -n $RIE ]]; then cp "$RIE" "$R/usr/local/bin/aws-lambda-rie"; chmod 755 "$R/usr/local/bin/aws-lambda-rie"; fi
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] && install -D -m 644 /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/bin/sh\nsbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$R/etc/passwd"
  printf 'root:x:0:\nsbx_user1051:x:990:\nnogroup:x:65534:\n' > "$R/etc/group"

  cat > "$R/var/runtime/bootstrap" <<'SH'
#!/bin/sh
# Stand-in for the managed python3.13 runtime bootstrap (honours AWS_LAMBDA_EXEC_WRAPPER like AWS's).
export AWS_EXECUTION_ENV=AWS_Lambda_python3.13
if [ -z "${AWS_LAMBDA_EXEC_WRAPPER:-}" ]; then
  exec /var/lang/bin/python3.13 /var/runtime/bootstrap.py
fi
if [ ! -f "$AWS_LAMBDA_EXEC_WRAPPER" ] || [ ! -x "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
  echo "Cannot execute $AWS_LAMBDA_EXEC_WRAPPER" >&2
  exec /var/lang/bin/python3.13 /var/runtime/bootstrap.py
fi
exec "$AWS_LAMBDA_EXEC_WRAPPER" /var/lang/bin/python3.13 /var/runtime/bootstrap.py
SH
  cat > "$R/var/runtime/bootstrap.py" <<'PY'
"""Stand-in for the managed runtime: Lambda's sys.path order, then awslambdaric's loop."""

import os
import sys

_task = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
_runtime = os.environ.get("LAMBDA_RUNTIME_DIR", "/var/runtime")
# Function code, then layers, then the runtime's own packages (so a bundled boto3 wins), as on Lambda.
_front = [_task, "/opt/python/lib/python3.13/site-packages", "/opt/python",
          "/var/lang/lib/python3.13/site-packages", _runtime]
sys.path[:] = _front + [p for p in sys.path if p not in _front]

from awslambdaric import __main__ as _ric  # noqa: E402  (needs the path above)

if __name__ == "__main__":
    _ric.main([sys.argv[0], os.environ["_HANDLER"]])
PY
  cat > "$R/lambda-entrypoint.sh" <<'SH'
#!/bin/sh
# Like AWS's: run the runtime directly under Lambda, or under the emulator when run by hand.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  exec /usr/local/bin/aws-lambda-rie $RUNTIME_ENTRYPOINT
else
  exec $RUNTIME_ENTRYPOINT
fi
SH
  chmod 755 "$R/var/runtime/bootstrap" "$R/lambda-entrypoint.sh"

  log "importing $IMAGE ($(du -sh "$R" | cut -f1))"
  tar -C "$R" --numeric-owner --owner=0 --group=0 -c . | docker import \
    --change "LABEL $LABEL=$WANT" \
    --change 'ENV LANG=en_US.UTF-8' \
    --change 'ENV TZ=:/etc/localtime' \
    --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin' \
    --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
    --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
    --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
    --change 'WORKDIR /var/task' \
    --change 'ENTRYPOINT ["/lambda-entrypoint.sh"]' \
    - "$IMAGE" >/dev/null
}

BUSYBOX=$(busybox_static)
WANT=$(inputs_hash)
OLD=$(image_id)
if [[ -n $OLD ]]; then
  have=$(image_label)
  [[ -z $have ]] && exit 0             # a real AWS image (pulled earlier): use it
  [[ $have == "$WANT" ]] && exit 0     # our stand-in, built from the same inputs
  log "stand-in base image is stale (inputs changed); rebuilding"
fi

if [[ $PULL != 0 ]] && log "trying docker pull $IMAGE (timeout ${PULL_TIMEOUT}s)" &&
  timeout "$PULL_TIMEOUT" docker pull -q "$IMAGE" >/dev/null 2>"$ROOT/.local/lambda-base-pull.log"; then
  log "pulled $IMAGE"
else
  # The pull's last line whole: a line cut at a character count ends mid-word and says nothing.
  [[ $PULL != 0 ]] && log "pull failed: $(tail -n 1 "$ROOT/.local/lambda-base-pull.log" 2>/dev/null); building a stand-in"
  mkdir -p "$BUILD"
  build
  log "built stand-in $IMAGE"
fi
NEW=$(image_id)
if [[ -n $OLD && $OLD != "$NEW" ]]; then remove_derived "$OLD"; fi
