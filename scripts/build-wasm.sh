#!/usr/bin/env bash
# Builds every Spin component for wasm32-wasip2 with the size-tuned `wasm` profile and prints
# each .wasm's size in bytes. Exits non-zero on any failure.
#   scripts/build-wasm.sh            # all components
#   scripts/build-wasm.sh ops cron   # some of them (directory names under components/)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=wasm32-wasip2
PROFILE=wasm

if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi

if [ "$#" -gt 0 ]; then
    components=("$@")
else
    components=()
    for dir in components/*/; do
        components+=("$(basename "$dir")")
    done
fi

# The HTTP components share one build. The cron component (WASI 0.2, no spin-sdk) builds on its
# own: built together, Cargo would unify wit-bindgen's features with spin-sdk's async ones.
http=()
cron=()
for c in "${components[@]}"; do
    [ -f "components/$c/Cargo.toml" ] || { echo "no component named $c" >&2; exit 1; }
    if [ "$c" = cron ]; then cron=(-p reservas-cron); else http+=(-p "reservas-$c"); fi
done

if [ "${#http[@]}" -gt 0 ]; then
    cargo build --profile "$PROFILE" --target "$TARGET" "${http[@]}"
fi
if [ "${#cron[@]}" -gt 0 ]; then
    cargo build --profile "$PROFILE" --target "$TARGET" "${cron[@]}"
fi

status=0
for c in "${components[@]}"; do
    wasm="target/$TARGET/$PROFILE/reservas_${c//-/_}.wasm"
    if [ -f "$wasm" ]; then
        printf '%-16s %10d bytes  %s\n' "$c" "$(stat -c %s "$wasm")" "$wasm"
    else
        echo "missing $wasm" >&2
        status=1
    fi
done
exit "$status"
