#!/usr/bin/env bash
# benches/boot-chains.sh — power-on → marker for each boot chain pxe-kit can render, on the
# same demo image, with and without latency on the lab link. A script, not a timed test: TCG
# boot times on shared machines are too noisy to assert on; run it by hand and read the table.
#
# What it measures (seconds from QEMU start to the demo marker on the serial console, as
# `pxe-kit lab boot` reports it, plus the share of each boot phase from its timeline):
#   a  classic      BIOS, NIC iPXE ROM → pxelinux.0 → kernel + initrd over TFTP → root over
#                   HTTP. YAML: boot.ipxe false, boot.transfer tftp.
#   b  default      pxe-kit's defaults (boot.ipxe true, boot.transfer http): QEMU's iPXE ROM
#                   is iPXE, so dhcpd hands it boot.ipxe over HTTP; kernel + initrd over HTTP.
#   b' lpxelinux    BIOS, boot.ipxe false, boot.transfer http: lpxelinux.0 over TFTP, kernel +
#                   initrd over HTTP (what a non-iPXE BIOS client gets by default).
#   c  UEFI         OVMF without the iPXE ROM (`lab boot --uefi --no-ipxe-rom`): the firmware's
#                   own PXE → shim → GRUB → kernel + initrd over TFTP (boot.transfer tftp:
#                   Debian's signed network GRUB has no http module; see /work/uefi-notes.md).
#   d  direct       `lab boot --direct`: QEMU -kernel/-initrd/-append, no firmware network
#                   boot; the root image still comes over HTTP. The floor.
# at one-way delays of 0, 0.25 and 2.5 ms in each direction (`lab boot --latency`: netem, or
# pxe-kit's userspace relay where the kernel has no netem; round trip 0, 0.5, 5 ms).
# Ratios: b/d (what the default chain costs over the floor) and a/b (the classic chain over
# the default).
#
# Method: one demo image and staged server (`pxe-kit lab demo --no-boot`), the YAML keys set
# in its settings file and `pxe-kit init` re-run for each chain; each cell is the median of
# BENCH_ROUNDS boots (default 1: ~15 boots of ~50 s under TCG, ~15 minutes). Phase shares
# are from the median run.
#
# How to run (as root, with the packages `pxe-kit lab demo` asks for, plus ovmf, shim-signed,
# grub-efi-amd64-signed, syslinux-efi):
#     bash benches/boot-chains.sh
#     BENCH_ROUNDS=3 BENCH_DELAYS="0 2.5" BENCH_CHAINS="a b d" bash benches/boot-chains.sh
#     bash benches/boot-chains.sh --quick   # chains b and d at 0 ms, one round (~2 min): what
#                                           # CI runs so the bench cannot rot
# Environment:
#   BENCH_ROUNDS   boots per cell; the median is reported (default 1)
#   BENCH_DELAYS   one-way delays in ms (default "0 0.25 2.5")
#   BENCH_CHAINS   chains to run, from "a b b' c d" (default all)
#   PXE_KIT        pxe-kit binary (default: build ./target/release/pxe-kit and use that)
# Exit status: 0 when every boot reached the marker (whatever the times), 1 when a boot
# failed (the table has holes: the bench no longer measures what it says), 2 when it could
# not run.
set -Eeuo pipefail
trap 'echo "boot-chains bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
ROUNDS=${BENCH_ROUNDS:-1}
if [ $QUICK = 1 ]; then
    DELAYS=${BENCH_DELAYS:-0}
    CHAINS=${BENCH_CHAINS:-b d}
else
    DELAYS=${BENCH_DELAYS:-0 0.25 2.5}
    CHAINS=${BENCH_CHAINS:-a b b\' c d}
fi
FAILED=0
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_START=$EPOCHREALTIME

BENCH=boot-chains
# shellcheck source=benches/lib.sh
. "$REPO/benches/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (the lab creates network namespaces)"
use_pxe_kit

WORK=$(mktemp -d /var/tmp/pxe-kit-bench-boot.XXXXXX)
cleanup() { rm -rf "$WORK" "${DEMO_WORK:-}"; }
trap cleanup EXIT

stage_demo "$WORK/demo.out"
ROOT=$DEMO_ROOT
YAML=$ROOT/etc/pxe-kit/pxe-kit.yaml

# Sets boot.<key> in the staged settings (the keys sit under `boot:`, indented two spaces).
set_key() {
    local key=$1 val=$2
    if grep -q "^  $key:" "$YAML"; then
        sed -i "s/^  $key:.*/  $key: $val/" "$YAML"
    else
        sed -i "/^boot:/a\\  $key: $val" "$YAML"
    fi
}

# Renders the configs for one chain: YAML keys, then `pxe-kit init` re-applies them.
configure() {
    case $1 in
        a) set_key ipxe false; set_key transfer tftp ;;
        b | d) set_key ipxe true; set_key transfer http ;;
        "b'") set_key ipxe false; set_key transfer http ;;
        c) set_key ipxe true; set_key transfer tftp; set_key uefi shim-grub ;;
    esac
    "$PXE_KIT" --root "$ROOT" --distro debian -q init >"$WORK/init.out" 2>&1 \
        || { cat "$WORK/init.out" >&2; die "pxe-kit init failed for chain $1"; }
}

flags_for() {
    case $1 in
        c) echo "--uefi --no-ipxe-rom" ;;
        d) echo "--direct" ;;
        *) echo "" ;;
    esac
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }

declare -A TOTAL PHASES
for chain in $CHAINS; do
    configure "$chain"
    for delay in $DELAYS; do
        times=()
        for round in $(seq "$ROUNDS"); do
            out=$WORK/run-$chain-$delay-$round.out
            # shellcheck disable=SC2046
            "$PXE_KIT" --root "$ROOT" lab boot --timeout 600 --latency "$delay" $(flags_for "$chain") \
                >"$out" 2>&1 || true
            t=$(sed -n 's/^lab boot: OK: .* \([0-9.]*\) s after power-on.*/\1/p' "$out")
            if [ -n "$t" ]; then
                times+=("$t")
                echo "  chain $chain, ${delay} ms: $t s (round $round)"
            else
                FAILED=$((FAILED + 1))
                echo "  chain $chain, ${delay} ms: FAILED (round $round): $(grep -m1 'lab boot: FAILED' "$out" || tail -1 "$out")"
            fi
        done
        m=$( (printf '%s\n' "${times[@]:-}" | grep . || true) | median)
        TOTAL[$chain,$delay]=$m
        # Phases of the run closest to the median.
        best=""
        for round in $(seq "$ROUNDS"); do
            out=$WORK/run-$chain-$delay-$round.out
            if grep -q "^lab boot: OK: .* $m s after" "$out" 2>/dev/null || [ -z "$best" ]; then
                grep -q '^boot phases:' "$out" 2>/dev/null && best=$out
            fi
        done
        PHASES[$chain,$delay]=$([ -n "$best" ] && sed -n 's/^boot phases: //p' "$best" || echo "-")
    done
done

name() {
    case $1 in
        a) echo "a  classic: pxelinux.0, TFTP kernel+initrd" ;;
        b) echo "b  default: iPXE script, HTTP kernel+initrd" ;;
        "b'") echo "b' BIOS lpxelinux.0, HTTP kernel+initrd" ;;
        c) echo "c  UEFI: firmware PXE, shim+GRUB, TFTP" ;;
        d) echo "d  direct kernel (floor)" ;;
    esac
}

echo
echo "power-on → marker, seconds (TCG; median of $ROUNDS run(s) per cell; delay is one-way, each direction)"
printf '%-46s' "chain"
for delay in $DELAYS; do printf '%12s' "${delay} ms"; done
echo
for chain in $CHAINS; do
    printf '%-46s' "$(name "$chain")"
    for delay in $DELAYS; do printf '%12s' "${TOTAL[$chain,$delay]}"; done
    echo
done
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x == "-" || y == "-" || y == 0) print "-"; else printf "%.2f", x / y }'; }
for pair in "b d" "a b"; do
    set -- $pair
    case " $CHAINS " in *" $1 "*) ;; *) continue ;; esac
    case " $CHAINS " in *" $2 "*) ;; *) continue ;; esac
    printf '%-46s' "ratio ($1)/($2)"
    for delay in $DELAYS; do printf '%12s' "$(ratio "${TOTAL[$1,$delay]}" "${TOTAL[$2,$delay]}")"; done
    echo
done
echo
echo "phases (share of power-on → marker) per cell:"
for chain in $CHAINS; do
    for delay in $DELAYS; do
        printf '  %-3s %5s ms: %s\n' "$chain" "$delay" "${PHASES[$chain,$delay]}"
    done
done
echo
printf 'boot-chains bench: done in %s s\n' "$(seconds_since "$T_START")"
if [ "$FAILED" -gt 0 ]; then
    echo "boot-chains bench: $FAILED boot(s) failed; their cells are empty (logs above)" >&2
    exit 1
fi
