#!/usr/bin/env bash
# Installs the Debian packages clustertwin needs (only those missing), then configures and builds.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

# iptables, libnetfilter-queue-dev: `emulate up --delay` on kernels without netem holds packets in
# user space (exec/emulate/delay.h); the build works without them.
# chromium: the report tests open report.html in it, headless (tests/reports/browser_test.cc).
# libopenmpi-dev, openmpi-bin: `plan --mpi` spreads a sweep over an MPI job (built only when MPI is found).
# openssh-server: the ssh launch test starts its own sshd in a network namespace (tests/e2e/ssh_launch_test.cc).
packages=(build-essential cmake pkg-config git
  libsimgrid-dev libboost-graph-dev libyaml-cpp-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libfmt-dev libopenblas-dev libssl-dev
  iproute2 iptables libnetfilter-queue-dev chromium libopenmpi-dev openmpi-bin openssh-server)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "${1:-}" = "--no-build" ] && exit 0
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)"
