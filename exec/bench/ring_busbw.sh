#!/usr/bin/env bash
# The executor's speed benchmark (issue 7, "Speed"): on an emulated ring of 4 nodes at 1 Gbit/s per
# link, all-reduce bus bandwidth beside the per-link rate of four concurrent iperf3 streams (one per
# ring link, all in the ring's direction) on the same emulation, measured before and after the
# all-reduce sweep; then 8-byte all-reduce latency on loopback and on the emulation beside
# 2(n-1)·alpha, alpha being the one-way latency ping measures on a ring link (and on loopback).
#
# Needs Linux, root (network namespaces), iproute2 (ip, tc), ping (iputils-ping) and iperf3; it
# installs nothing: `apt-get install iperf3 iputils-ping` on Debian. Prints figures; the exit status
# says only whether everything ran (0) or not (1 a run failed, 2 a missing requirement). The
# emulation (namespace prefix ct-rb<pid>-) is removed on every exit path.
#
# Usage: exec/bench/ring_busbw.sh [--binary PATH] [--max-bytes SIZE] [--iters N] [--iperf-seconds S]
#                                 [--json FILE]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
topology="$here/ring4-1g.yaml"
binary=""
max_bytes=64M
iters=10
iperf_seconds=10
json=""
usage() { sed -n '13,14p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --max-bytes) max_bytes=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --iperf-seconds) iperf_seconds=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "ring_busbw.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

# The clustertwin binary: --binary, else the first build directory of this checkout that has one.
root=$(cd "$here/../.." && pwd)
if [ -z "$binary" ]; then
  for b in build build-exec; do
    if [ -x "$root/$b/clustertwin" ]; then binary="$root/$b/clustertwin"; break; fi
  done
fi
need() {
  command -v "$1" >/dev/null 2>&1 || { echo "ring_busbw.sh: '$1' is required: $2" >&2; exit 2; }
}
[ -n "$binary" ] && [ -x "$binary" ] || {
  echo "ring_busbw.sh: no clustertwin binary (pass --binary PATH, or build: cmake --preset default && cmake --build build)" >&2
  exit 2
}
[ "$(uname -s)" = Linux ] || { echo "ring_busbw.sh: network namespaces need Linux" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "ring_busbw.sh: network namespaces need root (run with sudo)" >&2; exit 2; }
need ip "apt-get install iproute2"
need tc "apt-get install iproute2"
need ping "apt-get install iputils-ping"
need iperf3 "apt-get install iperf3 (macOS: brew install iperf3)"
need awk "apt-get install gawk"

prefix="ct-rb$$-"
n=4
work=$(mktemp -d /tmp/ring_busbw.XXXXXX)
cleanup() {
  local rc=$?
  # iperf3 servers live in the namespaces: stop them before the namespaces go.
  for pid in $(cat "$work"/iperf-server-*.pid 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  "$binary" emulate down "$topology" --prefix "$prefix" >/dev/null 2>&1 || true
  local left
  left=$(ip netns list | awk -v p="$prefix" 'index($1, p) == 1 {print $1}')
  if [ -n "$left" ]; then
    echo "ring_busbw.sh: namespaces left behind: $left" >&2
    rc=1
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns() { echo "${prefix}n$1"; }
addr() { echo "10.77.0.$(( $1 + 1 ))"; }

echo "# ring_busbw: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, $(basename "$binary") at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?)"
echo "# load before: $(uptime | sed 's/.*load average/load average/')"
"$binary" emulate up "$topology" --prefix "$prefix" >/dev/null

# Four iperf3 streams at once, node i -> node i+1 (the direction a ring all-reduce sends in), for
# iperf_seconds after a 1 s warm-up each; prints the per-link receiver rates in Gbit/s, then their mean.
iperf_ring() {
  local tag=$1 i j
  for i in $(seq 0 $((n - 1))); do
    j=$(( (i + 1) % n ))
    ip netns exec "$(ns $j)" iperf3 -s -1 -B "$(addr $j)" -p 5201 >/dev/null 2>&1 &
    echo $! > "$work/iperf-server-$tag-$j.pid"
  done
  sleep 0.5
  local clients=()
  for i in $(seq 0 $((n - 1))); do
    j=$(( (i + 1) % n ))
    ip netns exec "$(ns $i)" iperf3 -c "$(addr $j)" -p 5201 -t "$iperf_seconds" -O 1 -f m \
      --connect-timeout 3000 > "$work/iperf-$tag-$i.txt" 2>&1 &
    clients+=($!)
  done
  wait "${clients[@]}" || true
  # A server whose client never came would wait forever: stop what is left.
  for pid in $(cat "$work"/iperf-server-"$tag"-*.pid); do kill "$pid" 2>/dev/null || true; done
  rm -f "$work"/iperf-server-"$tag"-*.pid
  local rates=() r
  for i in $(seq 0 $((n - 1))); do
    r=$(awk '/receiver/ {for (k = 1; k < NF; ++k) if ($(k+1) == "Mbits/sec") v = $k} END {if (v != "") printf "%.4f", v / 1000}' \
      "$work/iperf-$tag-$i.txt")
    [ -n "$r" ] || { echo "ring_busbw.sh: iperf3 n$i -> n$(( (i + 1) % n )) failed:" >&2; cat "$work/iperf-$tag-$i.txt" >&2; exit 1; }
    rates+=("$r")
  done
  echo "${rates[*]}" | awk '{s = 0; for (k = 1; k <= NF; ++k) s += $k; printf "%s %.4f\n", $0, s / NF}'
}

# One-way latency: half the mean round trip of 50 pings (root: 10 ms apart) from `ns` to `addr`, in µs.
alpha_us() {
  local out
  out=$("$@" -c 50 -i 0.01 -q 2>&1 | awk -F'[/ ]+' '/^rtt|^round-trip/ {print $7}')
  [ -n "$out" ] || { echo "ring_busbw.sh: ping failed: $*" >&2; exit 1; }
  awk -v rtt="$out" 'BEGIN {printf "%.1f", rtt * 1000 / 2}'
}

echo "#"
echo "# 1. iperf3, four concurrent streams n_i -> n_i+1 (${iperf_seconds} s each, 1 s warm-up omitted), Gbit/s"
before=$(iperf_ring before)
echo "#    before: links $(echo "$before" | awk '{print $1, $2, $3, $4}')  mean $(echo "$before" | awk '{print $5}')"

echo "#"
echo "# 2. clustertwin bench allreduce on the emulation (8 B .. $max_bytes)"
bench_json="$work/bench.json"
"$binary" bench allreduce -t "$topology" --emulated --prefix "$prefix" -b 8 -e "$max_bytes" -f 2 -n "$iters" -w 3 \
  --json "$bench_json" | tee "$work/bench.txt"
[ -z "$json" ] || cp "$bench_json" "$json"

after=$(iperf_ring after)
echo "#"
echo "# 3. iperf3 again, after: links $(echo "$after" | awk '{print $1, $2, $3, $4}')  mean $(echo "$after" | awk '{print $5}')"
# The bar: the better of the two iperf3 means (the stricter comparison).
link=$(printf '%s\n%s\n' "$before" "$after" | awk '{ if ($5 > m) m = $5 } END {printf "%.4f", m}')

echo "#"
echo "# 4. busbw / iperf3 per-link rate ($link Gbit/s = $(awk -v l="$link" 'BEGIN {printf "%.4f", l / 8}') GB/s), sizes >= 16 MiB"
printf "# %12s %10s %10s %7s\n" "size(B)" "busbw" "busbw" "ratio"
printf "# %12s %10s %10s %7s\n" "" "(GB/s)" "(Gbit/s)" ""
# busbw from size and time (the table rounds it to 3 decimals): size / time x 2(n-1)/n.
awk -v link="$link" -v f="$(awk -v n=$n 'BEGIN {print 2 * (n - 1) / n}')" '!/^#/ && NF >= 7 && $1 >= 16777216 && $4 != "-" {
    b = $1 / $4 / 1000 * f; g = b * 8; r = g / link; printf "  %12d %10.4f %10.4f %6.1f%%\n", $1, b, g, 100 * r
    if (min == "" || r < min) min = r }
  END { if (min == "") print "# no size >= 16 MiB ran"; else printf "# lowest ratio %.1f%% (must-show: >= 90%%): %s\n", 100 * min, (min >= 0.9 ? "met" : "NOT met") }' \
  "$work/bench.txt"

echo "#"
echo "# 5. 8-byte all-reduce latency (median of 200 timed iterations) beside 2(n-1)*alpha, n = $n"
alpha_emu=$(alpha_us ip netns exec "$(ns 0)" ping "$(addr 1)")
emu8=$("$binary" bench allreduce -t "$topology" --emulated --prefix "$prefix" -b 8 -e 8 -n 200 -w 20 |
  awk '!/^#/ && NF >= 7 {print $4}')
"$binary" emulate down "$topology" --prefix "$prefix" >/dev/null
alpha_lo=$(alpha_us ping 127.0.0.1)
lo8=$("$binary" bench allreduce --local $n -b 8 -e 8 -n 200 -w 20 | awk '!/^#/ && NF >= 7 {print $4}')
# The executor's own cost of one hop: an 8 B message each way between two local workers (ping's
# alpha has no process to wake on the far side: the kernel answers an echo itself).
hop=$("$binary" bench sendrecv --local 2 -b 8 -e 8 -n 200 -w 20 | awk '!/^#/ && NF >= 7 {print $4}')
printf "# %-10s %12s %12s %16s %8s\n" "path" "alpha(us)" "8 B (us)" "2(n-1)alpha(us)" "ratio"
for row in "emulation $alpha_emu $emu8" "loopback $alpha_lo $lo8" "exec-hop $hop $lo8"; do
  set -- $row
  awk -v p="$1" -v a="$2" -v t="$3" -v k=$((2 * (n - 1))) \
    'BEGIN {printf "  %-10s %12.1f %12.1f %16.1f %7.2fx\n", p, a, t, k * a, t / (k * a)}'
done
echo "# alpha: half of ping's mean round trip (emulation: n0 -> n1; loopback: 127.0.0.1); exec-hop: the time of"
echo "# 'bench sendrecv --local 2' at 8 B (a worker's message and wake-up), against the loopback all-reduce"
echo "#"
echo "# load after: $(uptime | sed 's/.*load average/load average/')"
