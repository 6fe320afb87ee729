#!/usr/bin/env bash
# benches/pair.sh — one boot server against a failover pair under the same boot storm, and
# the pair losing its primary mid-storm. A script, not a timed test: figures on shared
# 2-core CI machines are too noisy to assert on; run it by hand and read the table.
#
# Variants, each a `pxe-kit lab storm` with a synthetic image (same machines, same sizes,
# each server's link limited to the same rate with tc tbf):
#   one          one server (10.78.0.1)
#   pair         a load-balancing pair (primary 10.78.0.1, secondary 10.78.0.2), nobody
#                killed: each server answers half of the machines over its own link
#   pair-kill    the same pair, the primary's daemons SIGKILLed halfway through the power-ons:
#                machines it breaks power on again and finish on the survivor
# for each DHCP server in BENCH_DHCP (ISC dhcpd's failover protocol, Kea's HA hook).
# Columns: booted/machines; all: seconds from the first power-on to the last root image;
# root p95: the root image fetch's 95th percentile; vs floor: `all` against the bytes moved
# over the link(s) at their rate; takeover: kill → the survivor serving alone; 1st ans: kill →
# the first machine the kill broke answered again by the survivor; recover:
# kill → the last machine it broke booted; dup: addresses held for two machines (machines'
# view + both lease files). Then the ratio one/pair of `all`: how much the pair's second
# link buys.
#
# How to run (as root, Debian 12 with .ci/install-deps done):
#     bash benches/pair.sh                 # 100 machines, 1+2+8 MiB each, 100 Mbit/s links
#     BENCH_DHCP="isc kea" BENCH_CLIENTS=200 bash benches/pair.sh
#     bash benches/pair.sh --quick         # 30 machines, ISC only (~2 min): what CI runs
# Environment:
#   BENCH_CLIENTS  machines per storm (default 100; quick 30)
#   BENCH_RATE     power-ons per second (default 50; quick 30)
#   BENCH_LINK     each server's link in Mbit/s (default 100)
#   BENCH_SIZES    kernel,initrd,root in MiB (default 1,2,8; quick 1,2,4)
#   BENCH_DHCP     DHCP servers to try, from "isc kea" (default both; quick isc)
#   BENCH_KEEP     set: keep the storms' JSON reports (their directory is named at the end)
#   PXE_KIT        pxe-kit binary (default: build ./target/release/pxe-kit and use that)
# Exit status: 0 when every storm booted every machine with no address held twice, 1 when
# one did not, 2 when the bench could not run.
set -Eeuo pipefail
trap 'echo "pair bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
CLIENTS=${BENCH_CLIENTS:-$([ $QUICK = 1 ] && echo 30 || echo 100)}
RATE=${BENCH_RATE:-$([ $QUICK = 1 ] && echo 30 || echo 50)}
LINK=${BENCH_LINK:-100}
SIZES=${BENCH_SIZES:-$([ $QUICK = 1 ] && echo 1,2,4 || echo 1,2,8)}
DHCP=${BENCH_DHCP:-$([ $QUICK = 1 ] && echo isc || echo "isc kea")}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_START=$EPOCHREALTIME

BENCH=pair
# shellcheck source=benches/lib.sh
. "$REPO/benches/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, DHCP ports)"
for t in jq ip tc timeout; do
    command -v "$t" >/dev/null || die "$t is missing; run: bash .ci/install-deps"
done
use_pxe_kit
export NO_COLOR=1

W=$(mktemp -d /tmp/pxk-pair-bench.XXXXXX)
cleanup() { [ -n "${BENCH_KEEP:-}" ] && { echo "kept $W (the storms' JSON)" >&2; return 0; }; rm -rf -- "$W"; }
trap cleanup EXIT

FAILED=0
storm() { # name dhcp args…: runs one storm, its JSON into $W/name.json
    local name=$1 dhcp=$2; shift 2
    say "$name ($dhcp): $CLIENTS machines at $RATE/s, $LINK Mbit/s per server"
    # Bounded: the storm's own timeout plus room to stage and tear down.
    timeout 900 "$PXE_KIT" -q lab storm --clients "$CLIENTS" --rate "$RATE" --link "$LINK" \
        --sizes "$SIZES" --timeout 600 --dhcp-server "$dhcp" --json "$@" \
        >"$W/$name.json" 2>"$W/$name.err" || true
    if ! jq -e . "$W/$name.json" >/dev/null 2>&1; then
        echo "pair bench: $name produced no report: $(tail -n 3 "$W/$name.err")" >&2
        FAILED=1
        echo '{}' >"$W/$name.json"
    fi
}

printf '%-16s %9s %8s %9s %9s %9s %8s %8s %4s\n' variant booted all "root p95" "vs floor" takeover "1st ans" recover dup
for d in $DHCP; do
    storm "one-$d" "$d"
    storm "pair-$d" "$d" --pair --kill-after never
    storm "pair-kill-$d" "$d" --pair
    for v in "one-$d" "pair-$d" "pair-kill-$d"; do
        jq -r --arg v "$v" '
          def n: if . == null then "-" else tostring end;
          [$v,
           "\(.booted // 0)/\(.clients // 0)",
           (.all_booted_secs | n),
           ((.stages // []) | map(select(.stage == "root")) | .[0].p95 | n),
           (.link.all_vs_floor | n),
           (.pair.takeover_secs | n),
           (.pair.first_answer_after_kill_secs | n),
           (.pair.recover_secs | n),
           (((.pair.duplicate_addresses // []) + (.pair.lease_conflicts // [])) | length | tostring)]
          | @tsv' "$W/$v.json" |
        awk -F'\t' '{ printf "%-16s %9s %8s %9s %9s %9s %8s %8s %4s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
        # Why machines were left unbooted: the storm's first failures (MAC, stage, why).
        jq -r --arg v "$v" '(.failures // [])[:5][] | "  \($v): \(.[0]) failed at \(.[1]): \(.[2])"' "$W/$v.json" >&2
        ok=$(jq -r 'if (.clients // -1) == (.booted // -2)
                      and (((.pair.duplicate_addresses // []) + (.pair.lease_conflicts // [])) | length) == 0
                    then "yes" else "no" end' "$W/$v.json")
        [ "$ok" = yes ] || FAILED=1
    done
    one=$(jq -r '.all_booted_secs // empty' "$W/one-$d.json")
    pair=$(jq -r '.all_booted_secs // empty' "$W/pair-$d.json")
    if [ -n "$one" ] && [ -n "$pair" ]; then
        awk -v a="$one" -v b="$pair" -v d="$d" \
            'BEGIN { printf "%s: one server / load-balancing pair, time until all booted: %.2fx\n", d, a / b }'
    fi
done
printf 'bench took %s s\n' "$(seconds_since "$T_START")"
exit $FAILED
