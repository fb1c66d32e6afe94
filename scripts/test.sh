#!/usr/bin/env bash
# Runs the whole test suite: unit tests beside the code, and the black-box tests that drive the
# native host over real HTTP with a real SQLite file and a real redis-server (started by the
# tests themselves on free loopback ports). Installs missing test dependencies first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-deps.sh

cargo test --locked "$@"
