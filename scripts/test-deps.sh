#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, when it is missing (idempotent, fast when
# everything is there): a real redis-server, Python 3 (the CSV round-trip reads exports back
# with its csv module) and Python's icalendar (the second, independent iCal parser).
set -euo pipefail

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "missing: $* — install it (e.g. apt-get install $*)" >&2
        exit 1
    fi
    if [ -z "${APT_UPDATED:-}" ]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v redis-server >/dev/null 2>&1 || apt_install redis-server
command -v python3 >/dev/null 2>&1 || apt_install python3 python3-pip
if ! python3 -c "import icalendar" >/dev/null 2>&1; then
    python3 -m pip install --quiet icalendar 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages icalendar 2>/dev/null \
        || apt_install python3-icalendar
fi
python3 -c "import icalendar" || { echo "Python's icalendar could not be installed" >&2; exit 1; }
