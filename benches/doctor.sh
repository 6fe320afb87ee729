#!/usr/bin/env bash
# benches/doctor.sh — how `pxe-kit doctor`'s time grows with the number of images. A script,
# not a timed test: timings on shared machines are too noisy to assert on; run it and read
# the table.
#
# What it measures (wall-clock seconds of `pxe-kit --root R doctor`, median of BENCH_ROUNDS,
# against a served staged server: its real dhcpd, in.tftpd and apache2 run under
# `pxe-kit serve` in a network namespace of the bench's own, so every protocol check really
# talks to a daemon):
#   1 image        the demo image of `pxe-kit lab demo --no-boot` (this host's kernel, a
#                  dracut-built zstd initramfs with livenet, a small squashfs root).
#   N images       the same files imported N-1 more times (`add-image --kernel --initrd
#                  --rootfs`, so every image has its own copies and manifest).
#   N, no records  the N images with `initrd_modules` deleted from their manifests: what
#                  doctor did before add-image recorded them (menu.livenet decompresses every
#                  initramfs on every run). The peer.
#   N, --deep      for reference: --deep re-reads every initramfs and hashes every file.
# Ratios: N images ÷ 1 image (issue 13's target: ≤ 1.5 for N = 10), the cost of each added
# image with records ÷ without them (target ≤ 0.05: without --deep, doctor reads at most
# 8 KiB of an image's files, so its time must not grow with image size, while the peer
# decompresses every initramfs), and "no records" ÷ N images (what the records save).
#
# How to run (as root, with what `pxe-kit lab demo` needs; ~3 minutes):
#     bash benches/doctor.sh
#     BENCH_IMAGES=20 BENCH_ROUNDS=7 bash benches/doctor.sh
#     bash benches/doctor.sh --quick    # 3 images, one round: what CI runs so the bench
#                                       # cannot rot (the ratio is not judged there)
# Environment:
#   BENCH_IMAGES  images in the large case (default 10)
#   BENCH_ROUNDS  runs per case; the median is reported (default 5)
#   PXE_KIT       pxe-kit binary (default: build ./target/release/pxe-kit and use that)
# Exit status: 0 when the benchmark ran (whatever the ratio), 2 when it could not run
# (including a doctor run that was not healthy: its time would measure the failure).
set -Eeuo pipefail
trap 'echo "doctor bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
IMAGES=${BENCH_IMAGES:-$([ $QUICK = 1 ] && echo 3 || echo 10)}
ROUNDS=${BENCH_ROUNDS:-$([ $QUICK = 1 ] && echo 1 || echo 5)}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_START=$EPOCHREALTIME

BENCH=doctor
# shellcheck source=benches/lib.sh
. "$REPO/benches/lib.sh"

[[ $IMAGES =~ ^[1-9][0-9]*$ ]] && ((IMAGES >= 2)) || die "BENCH_IMAGES=$IMAGES must be 2 or more"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS=$ROUNDS is not a positive integer"
[ "$(id -u)" = 0 ] || die "run as root (the bench creates a network namespace)"
use_pxe_kit
export NO_COLOR=1

W=$(mktemp -d /var/tmp/pxe-kit-bench-doctor.XXXXXX)
NS=pxkbd-$$
SERVE_PID=
cleanup() {
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null || true
    rm -rf -- "$W" "${DEMO_WORK:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stage_demo "$W/demo.out"
R=$DEMO_ROOT
YAML=$R/etc/pxe-kit/pxe-kit.yaml
IF=$(sed -n 's/^interface: *//p' "$YAML")
IP=$(sed -n 's/^server_ip: *//p' "$YAML")
PREFIX=$(sed -n 's/^subnet: *[0-9.]*\///p' "$YAML")
[ -n "$IF" ] && [ -n "$IP" ] && [ -n "$PREFIX" ] || die "cannot read interface/server_ip/subnet from $YAML"
IMG=$(ls "$R/var/lib/pxe-kit/images/" | sed -n 's/\.yaml$//p' | head -1)
K=$R/srv/tftp/pxe-kit/$IMG/vmlinuz
I=$R/srv/tftp/pxe-kit/$IMG/initrd.img
ROOTFS=$(ls "$R"/var/www/html/pxe-kit/"$IMG"/*.img | head -1)
for f in "$K" "$I" "$ROOTFS"; do [ -f "$f" ] || die "the demo image has no $f"; done
cp "$K" "$I" "$ROOTFS" "$W/"
K=$W/vmlinuz I=$W/initrd.img ROOTFS=$W/$(basename "$ROOTFS")

say "serving it in network namespace $NS ($IF $IP/$PREFIX)"
ip netns add "$NS"
ip -n "$NS" link add "$IF" type veth peer name pxkbd-peer
ip -n "$NS" addr add "$IP/$PREFIX" dev "$IF"
ip -n "$NS" link set lo up
ip -n "$NS" link set pxkbd-peer up
ip -n "$NS" link set "$IF" up
ip netns exec "$NS" "$PXE_KIT" --root "$R" serve --run-dir "$W/run" >"$W/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 300); do
    grep -q "pxe-kit serve: ready" "$W/serve.log" 2>/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$W/serve.log" >&2; die "serve exited"; }
    sleep 0.1
done
grep -q "pxe-kit serve: ready" "$W/serve.log" || { cat "$W/serve.log" >&2; die "serve did not come up"; }

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
# Times `doctor ARGS` BENCH_ROUNDS times (after one untimed warm-up run that must be healthy).
timed() {
    local label=$1 t0 out
    shift
    ip netns exec "$NS" "$PXE_KIT" --root "$R" doctor "$@" >"$W/doctor.out" 2>&1 ||
        { cat "$W/doctor.out" >&2; die "doctor is not healthy ($label): the time would measure the failure"; }
    out=$(for _ in $(seq "$ROUNDS"); do
        t0=$EPOCHREALTIME
        ip netns exec "$NS" "$PXE_KIT" --root "$R" doctor "$@" >/dev/null 2>&1 || die "doctor failed ($label)"
        seconds_since "$t0" '%.3f\n'
    done | median)
    # Where the time goes, from one more run's JSON (each check's duration_ms).
    ip netns exec "$NS" "$PXE_KIT" --root "$R" doctor --json "$@" >"$W/json-${label// /_}" 2>/dev/null || true
    python3 -c 'import json,sys; c=sorted(json.load(open(sys.argv[1]))["checks"], key=lambda c: -c["duration_ms"])[:3]; print(", ".join("%s %d ms" % (x["id"], x["duration_ms"]) for x in c))' \
        "$W/json-${label// /_}" >"$W/slowest-${label// /_}" 2>/dev/null || true
    printf '%s\n' "$out"
}

T1=$(timed "1 image")
say "1 image: $T1 s; importing $((IMAGES - 1)) more"
for n in $(seq 2 "$IMAGES"); do
    "$PXE_KIT" --root "$R" -q add-image --kernel "$K" --initrd "$I" --rootfs "$ROOTFS" --name "bench$n" \
        >"$W/add.out" 2>&1 || { cat "$W/add.out" >&2; die "add-image bench$n failed"; }
done
TN=$(timed "$IMAGES images")
TDEEP=$(timed "$IMAGES images --deep" --deep)
for m in "$R"/var/lib/pxe-kit/images/*.yaml; do
    awk '/^initrd_modules:/ {skip = 1; next} skip && /^- / {next} {skip = 0; print}' "$m" >"$m.tmp"
    mv "$m.tmp" "$m"
done
grep -q initrd_modules "$R"/var/lib/pxe-kit/images/*.yaml && die "could not strip the records"
TOLD=$(timed "$IMAGES images, no records")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
ISIZE=$(stat -c %s "$I")
printf '\ndoctor bench: %s round(s), initramfs %s MiB each, %s\n' "$ROUNDS" \
    "$(awk -v s="$ISIZE" 'BEGIN {printf "%.1f", s / 1048576}')" "$("$PXE_KIT" --version)"
printf '%-34s %9s\n' "case" "seconds"
printf '%-34s %9.3f\n' "1 image" "$T1"
printf '%-34s %9.3f\n' "$IMAGES images" "$TN"
printf '%-34s %9.3f\n' "$IMAGES images, no records (peer)" "$TOLD"
printf '%-34s %9.3f\n' "$IMAGES images, --deep (reference)" "$TDEEP"
printf '\nslowest checks per case:\n'
for f in "$W"/slowest-*; do printf '  %-32s %s\n' "$(basename "$f" | sed 's/^slowest-//; s/_/ /g')" "$(cat "$f")"; done
# Which checks grew from 1 image to N (each check's duration_ms in one run of each).
python3 - "$W/json-1_image" "$W/json-${IMAGES}_images" <<'PY' || true
import json, sys
one, many = ({c["id"]: c["duration_ms"] for c in json.load(open(f))["checks"]} for f in sys.argv[1:3])
grew = sorted(((many[k] - one.get(k, 0), k) for k in many), reverse=True)[:4]
print("grew most from 1 image: " + ", ".join(f"{k} +{d} ms" for d, k in grew))
PY
# Per added image: what each further image costs, with and without the records.
PER=$(awk -v a="$TN" -v b="$T1" -v n="$IMAGES" 'BEGIN {printf "%.1f", (a - b) * 1000 / (n - 1)}')
PEROLD=$(awk -v a="$TOLD" -v b="$T1" -v n="$IMAGES" 'BEGIN {printf "%.1f", (a - b) * 1000 / (n - 1)}')
SHARE=$(awk -v a="$PER" -v b="$PEROLD" 'BEGIN {printf "%.3f", (b > 0) ? a / b : 0}')
R1=$(ratio "$TN" "$T1")
printf '\n%s images / 1 image: %s (target <= 1.5): %s\n' "$IMAGES" "$R1" \
    "$(awk -v r="$R1" 'BEGIN {print (r <= 1.5) ? "met" : "MISSED"}')"
printf 'per added image: %s ms with records vs %s ms without (peer): %s (target <= 0.05): %s\n' \
    "$PER" "$PEROLD" "$SHARE" "$(awk -v r="$SHARE" 'BEGIN {print (r <= 0.05) ? "met" : "MISSED"}')"
printf 'no records / records, %s images: %s\n' "$IMAGES" "$(ratio "$TOLD" "$TN")"
printf 'bench took %s s\n' "$(seconds_since "$T_START")"
