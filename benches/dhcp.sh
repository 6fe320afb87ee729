#!/usr/bin/env bash
# benches/dhcp.sh — DHCP exchanges per second and drops of Kea (kea-dhcp4) against ISC dhcpd,
# each running the configuration pxe-kit renders, under the same load from a real DHCP load
# generator. A script, not a timed test: figures on shared 2-core CI machines are too noisy to
# assert on; run it by hand and read the table.
#
# What it measures, per server and offered rate (DISCOVER → OFFER → REQUEST → ACK exchanges):
#   exch/s       ACKs received / sending period: completed four-way exchanges per second
#   lost D-O     DISCOVERs that got no OFFER within 3 s (perfdhcp -d 3)
#   lost R-A     REQUESTs that got no ACK within 3 s
#   offer ms     mean DISCOVER → OFFER delay (perfdhcp's "avg delay")
#   cpu ms/exch  the daemon's user+system CPU time (/proc/PID/stat) per completed exchange
# for three servers, all from one staged pxe-kit root (`init` on a Debian layout, pool
# 10.88.0.10–250, re-run to switch):
#   kea          --dhcp-server kea: the rendered kea-dhcp4.conf, its lease file and control
#                socket moved to a scratch directory (what `pxe-kit serve` does)
#   dhcpd        the rendered dhcpd.conf as `init` writes it (ping_check false, the default)
#   dhcpd+ping   the rendered dhcpd.conf with ping_check true (the default before the storm
#                work, still a setting): dhcpd pings
#                a free address for 1 s before offering it; Kea has no ping check (2.2) or a
#                hook for it (3.0) that pxe-kit does not load
# and the ratios kea/dhcpd and kea/dhcpd+ping of exch/s and cpu ms/exch, measured in the
# same run.
#
# Method: two network namespaces of the script's own, joined by a veth pair: the server's
# (pxk-bs, 10.88.0.1/24, the daemon in the foreground on it) and the client's (pxk-bc,
# 10.88.0.2/24, perfdhcp from Debian's kea-admin). Nothing listens in the root namespace.
# perfdhcp sends the PXE vendor class (option 60 "PXEClient:Arch:00000:UNDI:002001") and
# the architecture (option 93 = 0, BIOS) so every exchange goes through pxe-kit's PXE
# classes, and plays a relay (giaddr 10.88.0.2): this is the relayed path (the broadcast
# path of a real PXE client is what tests/serve_kea.rs checks). Each run: a fresh daemon
# and empty lease file, then `perfdhcp -r RATE -p SECONDS -R CLIENTS -d 3 -W 3000000`:
# sends for N/RATE seconds, then waits 3 s for late answers (with -n instead of -p,
# perfdhcp stops at the last DISCOVER and counts every answer still on its way as a drop,
# which turns dhcpd's 1 s ping-check delay into drops). "steady": CLIENTS distinct MACs
# cycling (each comes back every CLIENTS/RATE s, so only its first OFFER is for a free
# address); "fresh": MACs drawn from 100000, so nearly every OFFER is for a free address
# (where ping-check costs its full second). Every process is bounded by `timeout`; the
# namespaces and everything in them go on exit, also on failure or Ctrl-C.
#
# How to run (as root, on Debian 12 with .ci/install-deps done; ~6 minutes):
#     bash benches/dhcp.sh
#     BENCH_RATES="100 400" BENCH_N=4000 bash benches/dhcp.sh
#     bash benches/dhcp.sh --quick     # one rate, 300 exchanges per server (~30 s): what CI
#                                      # runs so the bench cannot rot
# Environment:
#   BENCH_RATES    offered rates in exchanges/s (default "50 100 200 400 800"; quick "100")
#   BENCH_N        exchanges offered per steady run (default 2000; quick 300)
#   BENCH_CLIENTS  distinct clients of a steady run (default 200)
#   BENCH_SERVERS  from "kea dhcpd dhcpd+ping" (default all three)
#   PXE_KIT        pxe-kit binary (default: build ./target/release/pxe-kit and use that)
# Exit status: 0 when every run completed exchanges (whatever the figures), 1 when a server
# completed none in a run (the bench no longer measures what it says), 2 when it could not run.
set -Eeuo pipefail
trap 'echo "dhcp bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
RATES=${BENCH_RATES:-$([ $QUICK = 1 ] && echo 100 || echo "50 100 200 400 800")}
N=${BENCH_N:-$([ $QUICK = 1 ] && echo 300 || echo 2000)}
CLIENTS=${BENCH_CLIENTS:-200}
SERVERS=${BENCH_SERVERS:-kea dhcpd dhcpd+ping}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_START=$EPOCHREALTIME
S=pxk-bench-s-$$ C=pxk-bench-c-$$
FAILED=0

BENCH=dhcp
# shellcheck source=benches/lib.sh
. "$REPO/benches/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, DHCP ports)"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_N=$N is not a positive integer"
for t in kea-dhcp4 dhcpd perfdhcp ip awk timeout; do
    command -v "$t" >/dev/null || die "$t is missing; run: bash .ci/install-deps"
done
LOADERS=(/usr/lib/PXELINUX/{pxelinux.0,lpxelinux.0}
  /usr/lib/syslinux/modules/bios/{ldlinux,menu,libutil,libcom32}.c32
  /usr/lib/shim/shimx64.efi.signed /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed
  /usr/lib/grub/x86_64-efi/http.mod)
for f in "${LOADERS[@]}"; do
    [ -f "$f" ] || die "$f is missing; run: bash .ci/install-deps"
done
use_pxe_kit

W=$(mktemp -d /tmp/pxe-kit-bench-dhcp.XXXXXX)
kill_ns() {
    local n p
    for n in "$S" "$C"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -z "$(ip netns pids "$S" 2>/dev/null)$(ip netns pids "$C" 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    for n in "$S" "$C"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    done
}
cleanup() {
    kill_ns
    ip netns del "$S" 2>/dev/null || true
    ip netns del "$C" 2>/dev/null || true
    rm -rf -- "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- pxe-kit's configurations ------------------------------------------------------------
R=$W/root
mkdir -p "$R/etc"
printf 'ID=debian\nVERSION_ID="12"\n' > "$R/etc/os-release"
for f in "${LOADERS[@]}"; do mkdir -p "$R$(dirname "$f")"; cp "$f" "$R$f"; done
pk() { "$PXE_KIT" --root "$R" -q "$@" >"$W/pk.out" 2>&1 || { cat "$W/pk.out" >&2; die "pxe-kit $* failed"; }; }
say "rendering the three configurations with pxe-kit init"
pk init --interface pxk-bs --server-ip 10.88.0.1 --subnet 10.88.0.0/24 \
    --range 10.88.0.10-10.88.0.250 --dns 10.88.0.1 --domain-search lab.example --dhcp-server isc
cp "$R/etc/dhcp/dhcpd.conf" "$W/dhcpd.conf"
grep -q '^ping-check false;' "$W/dhcpd.conf" || die "pxe-kit's default dhcpd.conf lost ping-check false"
sed -i 's/^\( *\)ping_check: false$/\1ping_check: true/' "$R/etc/pxe-kit/pxe-kit.yaml"
grep -q 'ping_check: true$' "$R/etc/pxe-kit/pxe-kit.yaml" || die "ping_check is no longer a line of pxe-kit.yaml"
pk init
cp "$R/etc/dhcp/dhcpd.conf" "$W/dhcpd+ping.conf"
grep -q '^ping-check true;' "$W/dhcpd+ping.conf" || die "ping_check true did not reach dhcpd.conf"
pk init --dhcp-server kea
# What serve changes in the installed file: the lease file and the control socket move to a
# scratch directory (Kea reads its pid, lock and socket directories from the environment).
sed -e "s|\"/var/lib/kea/kea-leases4.csv\"|\"$W/kea-leases4.csv\"|" \
    -e "s|\"/run/kea/kea4-ctrl-socket\"|\"$W/kea/kea4-ctrl-socket\"|" \
    "$R/etc/kea/kea-dhcp4.conf" > "$W/kea.conf"
grep -q "$W/kea-leases4.csv" "$W/kea.conf" || die "the lease path of kea-dhcp4.conf moved"
mkdir -p "$W/kea" && chmod 750 "$W/kea"

# --- the network ---------------------------------------------------------------------------
ip netns add "$S"; ip netns add "$C"
ip -n "$S" link set lo up; ip -n "$C" link set lo up
ip -n "$S" link add pxk-bs type veth peer name pxk-bc
ip -n "$S" link set pxk-bc netns "$C"
ip -n "$S" addr add 10.88.0.1/24 dev pxk-bs; ip -n "$C" addr add 10.88.0.2/24 dev pxk-bc
ip -n "$S" link set pxk-bs up; ip -n "$C" link set pxk-bc up

SPID=""
start_server() { # server
    kill_ns
    rm -f "$W"/*.leases "$W"/kea-leases4.csv* "$W"/*.pid "$W"/kea/*
    : > "$W/server.log"
    local comm ready
    case $1 in
        kea)
            comm=kea-dhcp4 ready=DHCP4_STARTED
            ip netns exec "$S" env KEA_PIDFILE_DIR="$W/kea" KEA_LOCKFILE_DIR="$W/kea" \
                KEA_CONTROL_SOCKET_DIR="$W/kea" KEA_DHCP_DATA_DIR="$W" \
                timeout -k 2 900 kea-dhcp4 -c "$W/kea.conf" >"$W/server.log" 2>&1 & ;;
        dhcpd*)
            comm=dhcpd ready="Sending on"
            : > "$W/dhcpd.leases"
            ip netns exec "$S" timeout -k 2 900 dhcpd -4 -f -d -cf "$W/$1.conf" \
                -lf "$W/dhcpd.leases" -pf "$W/dhcpd.pid" pxk-bs >"$W/server.log" 2>&1 & ;;
    esac
    for _ in $(seq 100); do grep -q "$ready" "$W/server.log" && break; sleep 0.1; done
    SPID=""
    for p in $(ip netns pids "$S"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$comm" ] && SPID=$p
    done
    [ -n "$SPID" ] || { cat "$W/server.log" >&2; die "$1 did not start"; }
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK=$(getconf CLK_TCK)
VC=$(printf 'PXEClient:Arch:00000:UNDI:002001' | od -An -tx1 | tr -d ' \n')

# perfdhcp's report → "do_sent do_recv do_drops do_avg ra_sent ra_recv ra_drops"
parse() {
    awk '
      /Statistics for: DISCOVER-OFFER/ {sec="do"} /Statistics for: REQUEST-ACK/ {sec="ra"}
      /^sent packets:/ {s[sec]=$3} /^received packets:/ {r[sec]=$3} /^drops:/ {d[sec]=$2}
      /^avg delay:/ {a[sec]=$3}
      END {printf "%s %s %s %s %s %s %s\n", s["do"]+0, r["do"]+0, d["do"]+0, a["do"]+0,
                                           s["ra"]+0, r["ra"]+0, d["ra"]+0}' "$1"
}

echo "server scenario rate exch_s lost_do lost_ra offer_ms cpu_ms_per_exch" > "$W/results"
run() { # server scenario rate n clients
    local srv=$1 scen=$2 rate=$3 n=$4 clients=$5 period c0 c1
    period=$(( (n + rate - 1) / rate ))
    start_server "$srv"
    c0=$(cpu_ticks "$SPID")
    ip netns exec "$C" timeout -k 5 $(( period + 60 )) perfdhcp -4 -l pxk-bc -r "$rate" \
        -p "$period" -R "$clients" -d 3 -W 3000000 -o "60,$VC" -o 93,0000 \
        >"$W/perfdhcp.out" 2>&1 || true
    c1=$(cpu_ticks "$SPID")
    read -r dsent drecv ddrop davg rsent rrecv rdrop < <(parse "$W/perfdhcp.out")
    if [ "$rrecv" = 0 ]; then
        echo "dhcp bench: $srv completed no exchange at $rate/s; perfdhcp said:" >&2
        tail -n 20 "$W/perfdhcp.out" >&2; tail -n 5 "$W/server.log" >&2
        FAILED=1
    fi
    awk -v s="$srv" -v sc="$scen" -v r="$rate" -v p="$period" -v acks="$rrecv" \
        -v ld="$((dsent - drecv))" -v lr="$((rsent - rrecv))" -v avg="$davg" \
        -v cpu="$(( c1 - c0 ))" -v tick="$TICK" 'BEGIN {
            printf "%s %s %s %.1f %d %d %.2f %.3f\n", s, sc, r, acks / p, ld, lr, avg,
                   (acks > 0 ? cpu / tick * 1000 / acks : 0) }' >> "$W/results"
    printf '   %-10s %-6s %4s/s: %s\n' "$srv" "$scen" "$rate" "$(tail -n 1 "$W/results" | cut -d' ' -f4-)" >&2
}

say "$(kea-dhcp4 -v) vs $(dhcpd --version 2>&1 | head -1), perfdhcp from kea-admin; $(nproc) cores"
for srv in $SERVERS; do
    case $srv in kea|dhcpd|dhcpd+ping) ;; *) die "BENCH_SERVERS: unknown server $srv" ;; esac
    for rate in $RATES; do run "$srv" steady "$rate" "$N" "$CLIENTS"; done
    # Mostly new clients: every OFFER is for a free address (ping-check's full second).
    [ $QUICK = 1 ] || run "$srv" fresh 50 200 100000
done
kill_ns

# --- the table and the ratios ----------------------------------------------------------------
echo
echo "DHCP exchanges per second, pxe-kit's configurations; steady: $CLIENTS clients cycling; fresh: new MACs at 50/s"
echo "(lost D-O / R-A: DISCOVERs without OFFER / REQUESTs without ACK within 3 s)"
awk 'NR > 1 {
        printf "%-11s %-7s %5s/s  exch/s %7.1f  lost D-O %4d  R-A %4d  offer %8.2f ms  cpu %6.3f ms/exch\n",
               $1, $2, $3, $4, $5, $6, $7, $8 }' "$W/results"
echo
echo "ratios in this run (kea / dhcpd):"
awk 'NR > 1 { k = $2 " " $3; x[$1, k] = $4; c[$1, k] = $8; keys[k] = 1 }
     END {
       for (k in keys) {
         line = sprintf("  %-13s", k "/s")
         for (o = 1; o <= 2; o++) {
           other = (o == 1) ? "dhcpd" : "dhcpd+ping"
           if (((("kea", k) in x)) && ((other, k) in x) && x[other, k] > 0 && c[other, k] > 0)
             line = line sprintf("  vs %-10s exch/s x%.2f, cpu/exch x%.2f", other, x["kea", k] / x[other, k], c["kea", k] / c[other, k])
         }
         print line
       }
     }' "$W/results" | sort -k1,1 -k2,2n
awk -v a="$EPOCHREALTIME" -v b="$T_START" 'BEGIN { printf "\ndhcp bench: done in %.0f s\n", a - b }'
exit $FAILED
