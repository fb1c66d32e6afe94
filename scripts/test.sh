#!/usr/bin/env bash
# Runs the whole test suite: unit tests beside the code, and the black-box tests that drive the
# native host over real HTTP with a real SQLite file and a real redis-server (started by the
# tests themselves on free loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing redis-server (needed by the Redis tests)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
        echo "redis-server is required by the tests: install it (e.g. apt-get install redis-server)" >&2
        exit 1
    fi
fi

cargo test --locked "$@"
