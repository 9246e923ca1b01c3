#!/usr/bin/env bash
# Installs what building, running and testing LightScope needs on Debian 12.
# Idempotent: apt-get only runs when something is missing.
set -euo pipefail

packages=(
    # build and runtime
    libpcap-dev libsystemd-dev libsqlite3-dev libpq-dev pkg-config
    # tests and benchmark: a real PostgreSQL 15 for the fleet (started by the tests, as postgres),
    # openssl for its test CA and certificates
    postgresql openssl
    # tests: namespaces and veth, real scanners and capture tools, a real systemd
    iproute2 procps util-linux python3 tcpdump nmap hping3 masscan zmap systemd-container
    # tests: real client SYNs that must get no scanner tag
    netcat-openbsd
    # tests: the blocklist output goes through the real firewall tools (in a namespace)
    nftables ipset
    # packaging and its checks (the system tests install the .deb: adduser, man-db)
    dpkg-dev fakeroot lintian adduser man-db
    # promtool checks the Prometheus exposition format; jq and curl run the documents' examples
    prometheus jq curl
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "Installing: ${missing[*]}"
    [ "$(id -u)" = 0 ] || { echo "error: installing packages needs root: run this with sudo" >&2; exit 1; }
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
    echo "error: no Swift toolchain: install Swift 6 (swift.org) so that 'swift' is on PATH or in /opt/swift" >&2
    exit 1
fi
