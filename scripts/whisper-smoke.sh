#!/usr/bin/env bash
# End-to-end check of a running Whisper sidecar: speaks Spanish booking sentences with espeak-ng
# into OGG/Opus voice notes (scripts/speak.sh), POSTs each to /v1/audio/transcriptions and prints
# the transcript, a confidence and the wall time per clip. Exits non-zero if a request fails or a
# transcript misses its expected keyword.
#
#   scripts/whisper-sidecar.sh start && scripts/whisper-smoke.sh [BASE_URL] [ROUNDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
base="${1:-${WHISPER_URL:-http://127.0.0.1:9000}}"
rounds="${2:-1}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

# sentence | a word the transcript must contain (lower case)
sentences=(
  "Hola, quiero reservar del doce al quince de marzo para dos personas|marzo"
  "¿Tienen lugar este fin de semana para cuatro personas?|personas"
  "Somos dos adultos y un niño, llegamos el viernes y nos quedamos tres noches|viernes"
  "Buenas, ¿cuánto sale la cabaña para el finde largo? Vamos con mascota|cabaña"
)

fail=0
i=0
for entry in "${sentences[@]}"; do
  i=$((i + 1))
  text="${entry%|*}"; want="${entry##*|}"
  "$here/speak.sh" "$text" "$dir/$i.ogg"
  dur="$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$dir/$i.ogg")"
  for r in $(seq 1 "$rounds"); do
    out="$(curl -sS --max-time 60 -w '\n%{http_code} %{time_total}' \
      -F "file=@$dir/$i.ogg;type=audio/ogg; codecs=opus" -F model=whisper-1 -F language=es \
      -F response_format=verbose_json "$base/v1/audio/transcriptions")" || { echo "clip $i: request failed"; fail=1; continue; }
    body="$(printf '%s\n' "$out" | sed '$d')"; meta="$(printf '%s\n' "$out" | tail -n1)"
    code="${meta% *}"; secs="${meta#* }"
    [ "$code" = 200 ] || { echo "clip $i: HTTP $code: $body"; fail=1; continue; }
    # confidence = exp(duration-weighted mean avg_logprob) over segments; 0 when the text is empty,
    # or when Whisper's own no-speech rule fires (no_speech_prob > 0.6 and avg_logprob < -1),
    # or on a repetition loop (compression_ratio > 2.4).
    read -r conf transcript < <(printf '%s' "$body" | python3 -c '
import json, math, sys
d = json.load(sys.stdin)
seg = d.get("segments") or []
w = sum(max(s["end"] - s["start"], 0.01) for s in seg)
lp = sum(s["avg_logprob"] * max(s["end"] - s["start"], 0.01) for s in seg) / w if seg else -10
silent = any(s["no_speech_prob"] > 0.6 and s["avg_logprob"] < -1 for s in seg)
loop = any(s["compression_ratio"] > 2.4 for s in seg)
conf = 0.0 if (not d["text"].strip() or silent or loop) else math.exp(lp)
print(f"{conf:.2f}", d["text"].strip())')
    printf 'clip %d (%.1f s audio) round %d: %.2f s wall, confidence %s\n  said:  %s\n  heard: %s\n' \
      "$i" "$dur" "$r" "$secs" "$conf" "$text" "$transcript"
    case "${transcript,,}" in *"$want"*) ;; *) echo "  MISSING expected word: $want"; fail=1 ;; esac
  done
done
exit "$fail"
