#!/usr/bin/env bash
# Speak Spanish text into a WhatsApp-like voice note: OGG/Opus, mono, 16 kHz
# (Content-Type `audio/ogg; codecs=opus`).
#
#   scripts/speak.sh "Hola, quiero reservar del doce al quince de marzo" out.ogg
#
# Needs espeak-ng and ffmpeg (scripts/whisper-sidecar.sh install puts them there).
# SPEAK_VOICE (default es-419) and SPEAK_RATE (words per minute, default 150) may be set.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 \"texto\" out.ogg" >&2; exit 2; }
text="$1"; out="$2"
wav="$(mktemp --suffix=.wav)"
trap 'rm -f "$wav"' EXIT
espeak-ng -v "${SPEAK_VOICE:-es-419}" -s "${SPEAK_RATE:-150}" -w "$wav" -- "$text"
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$wav" \
  -ac 1 -ar 16000 -c:a libopus -b:a 24k -application voip "$out"
