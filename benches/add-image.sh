#!/usr/bin/env bash
# benches/add-image.sh — how fast `pxe-kit add-image` imports a live ISO, against the floor
# and against what a user would do by hand. A script, not a timed test: timings on shared
# CI machines are too noisy to assert on; run it by hand and read the table.
#
# What it measures (wall-clock seconds, median of BENCH_ROUNDS runs):
#   The ISO is built once with xorriso in the lorax layout, from real boot files so that
#   add-image does what it does for users (read the kernel's version, decompress and list
#   the whole initramfs to find dracut's livenet and dmsquash-live modules):
#     images/pxeboot/vmlinuz     this host's newest kernel (/boot/vmlinuz-KVER, ~8 MiB)
#     images/pxeboot/initrd.img  a livenet initramfs built once per run with this host's
#                                dracut for KVER, with the arguments pxe-kit's own live
#                                initramfs uses (src/dracut.rs, Purpose::Live, Flavour::Full:
#                                --no-hostonly --add "livenet dmsquash-live", network-legacy
#                                pinned) and zstd as Fedora's lorax builds it (--compress
#                                zstd): ~50 MiB holding ~150 MiB; pxe-kit keeps it, no dracut
#                                runs at import
#     LiveOS/squashfs.img        BENCH_SIZE_MIB of incompressible bytes starting with "hsqs"
#   "The bytes" below are those three files: what pxe-kit copies. A second ISO holds the
#   same kernel and root image with a four-entry newc initramfs holding only dracut's
#   marker files (what this bench used before): its pxe-kit row shows the cost of the copy
#   alone; its "x floor" is against the floor scaled to its bytes.
#
#   cp (no fsync)        cp of the bytes from the page cache to files in the destination
#                        filesystem. Reference only: not durable, so not comparable.
#   cp + fsync           the same, then `sync FILE...` (fsync(2) of each file; not `sync -f`,
#                        which is syncfs(2) and would also flush whatever else is dirty on a
#                        shared filesystem). pxe-kit fsyncs what it writes, so this is the
#                        like-for-like copy cost.
#   dd conv=fsync        dd bs=2M of each file with conv=fsync: the other way to copy + fsync.
#   openssl sha256       `openssl dgst -sha256` of the bytes from the page cache (OpenSSL uses
#                        the CPU's SHA instructions where present): the hashing cost.
#   xorriso + sha256sum  by hand: `xorriso -osirrox on -indev ISO -extract ...` of the three
#                        files, then `sha256sum` of them (no fsync: what a user types).
#   bsdtar + sha256sum   by hand: `bsdtar -x -f ISO -C DIR LiveOS images`, then `sha256sum`.
#   pxe-kit add-image    `pxe-kit --root STAGED -q add-image ISO --name bench` into a staged
#                        Debian root prepared once with `init`; `remove-image bench` runs
#                        between runs (untimed) so every run really imports.
#   ... marker initrd    the same on the second ISO (the four-entry initramfs).
#
#   floor = max(fastest fsync'ed copy (cp + fsync, dd conv=fsync), openssl sha256): pxe-kit
#   copies and hashes in parallel, so it cannot beat the slower of the two. Targets:
#   pxe-kit / floor <= 1.2, and pxe-kit faster than both by-hand paths.
#
# Method: the ISO and the source files are read once first so every variant reads from the
# page cache; each round runs every variant once, in an order rotated per round so drifting
# noise hits all variants alike; before every run: delete the previous output, `sync`, sleep
# 1 s (page-cache writeback from one run must not be billed to the next). MB/s is the bytes
# above / median seconds (MB = 10^6 bytes).
#
# How to run (as root, on Debian 12 with .ci/install-deps done and a kernel and dracut:
#     apt-get install -y linux-image-amd64
#     apt-get install -y --no-install-recommends dracut dracut-network dracut-live zstd cpio
# takes ~6 minutes with the defaults, of which building the initramfs takes 0.5 to 3,
# and ~4.3 x BENCH_SIZE_MIB of free disk in BENCH_DIR):
#     bash benches/add-image.sh
#     BENCH_SIZE_MIB=2048 BENCH_ROUNDS=7 BENCH_DIR=/srv/scratch bash benches/add-image.sh
#     bash benches/add-image.sh --quick     # 64 MiB, one round: what CI runs so the bench
#                                           # cannot rot (the verdicts are not meaningful)
# Environment:
#   BENCH_SIZE_MIB  size of LiveOS/squashfs.img in MiB (default 1024)
#   BENCH_ROUNDS    rounds; the median of these is reported (default 5)
#   BENCH_DIR       parent of the working directory (default /var/tmp); the working
#                   directory (a fresh mktemp -d inside it) is removed on exit
#   PXE_KIT         pxe-kit binary to use (default: build ./target/release/pxe-kit with
#                   `cargo build --release --locked` and use that)
#   BENCH_INITRD    a livenet initramfs built as above to use instead of building one
#                   (saves the dracut run when the bench is repeated); it is copied into
#                   the working directory and its livenet modules are checked
# Exit status: 0 when the benchmark ran (whatever the verdicts), 2 when it could not run.
set -Eeuo pipefail
trap 'echo "add-image bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
SIZE_MIB=${BENCH_SIZE_MIB:-$([ $QUICK = 1 ] && echo 64 || echo 1024)}
ROUNDS=${BENCH_ROUNDS:-$([ $QUICK = 1 ] && echo 1 || echo 5)}
PARENT=${BENCH_DIR:-/var/tmp}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_START=$EPOCHREALTIME

BENCH=add-image
# shellcheck source=benches/lib.sh
. "$REPO/benches/lib.sh"

[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZE_MIB=$SIZE_MIB is not a positive integer"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS=$ROUNDS is not a positive integer"
[ "$(id -u)" = 0 ] || die "run as root (pxe-kit add-image needs it)"
for t in xorriso bsdtar openssl cpio sha256sum dd; do
  command -v "$t" >/dev/null || die "$t is missing; run: bash .ci/install-deps"
done
for t in dracut zstd; do
  command -v "$t" >/dev/null ||
    die "$t is missing; run: apt-get install -y --no-install-recommends dracut dracut-network dracut-live zstd cpio"
done
[ -d /usr/lib/dracut/modules.d/90livenet ] && [ -d /usr/lib/dracut/modules.d/90dmsquash-live ] ||
  die "dracut's livenet module is missing; run: apt-get install -y --no-install-recommends dracut-network dracut-live"
# The newest installed kernel that has its modules (dracut needs them).
KVER=
for k in $(ls /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
  v=${k#/boot/vmlinuz-}
  [ -d "/lib/modules/$v" ] && { KVER=$v; break; }
done
[ -n "$KVER" ] || die "no kernel with modules in /boot; run: apt-get install -y linux-image-amd64"
if [ -n "${BENCH_INITRD:-}" ]; then
  [ -f "$BENCH_INITRD" ] || die "BENCH_INITRD=$BENCH_INITRD is not a file"
fi
# Every boot loader file the Debian profile copies into the TFTP root (BIOS and UEFI).
LOADERS=(/usr/lib/PXELINUX/{pxelinux.0,lpxelinux.0}
  /usr/lib/syslinux/modules/bios/{ldlinux,menu,libutil,libcom32}.c32
  /usr/lib/shim/shimx64.efi.signed /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed
  /usr/lib/grub/x86_64-efi/http.mod)
for f in "${LOADERS[@]}"; do
  [ -f "$f" ] || die "$f is missing; run: bash .ci/install-deps"
done
mkdir -p "$PARENT"
# Peak use: the ISO tree (source of the floor copies) + the two ISOs + one run's output.
need_kib=$(( (SIZE_MIB * 43 / 10 + 512) * 1024 ))
avail_kib=$(df -Pk "$PARENT" | awk 'NR==2 {print $4}')
(( avail_kib >= need_kib )) ||
  die "$PARENT has $((avail_kib / 1024)) MiB free, needs $((need_kib / 1024)) MiB; set BENCH_DIR"

use_pxe_kit

W=$(mktemp -d "$PARENT/pxe-kit-bench.XXXXXX")
cleanup() { rm -rf -- "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the ISOs -------------------------------------------------------------------------
TREE=$W/tree ISO=$W/bench.iso ISO_M=$W/bench-marker.iso
K=images/pxeboot/vmlinuz I=images/pxeboot/initrd.img R=LiveOS/squashfs.img
mkdir -p "$TREE/images/pxeboot" "$TREE/LiveOS"
# Pseudo-random, incompressible and fast: AES-CTR keystream over zeros (fixed key).
prng() {
  # openssl dies of SIGPIPE when head has enough: that is the normal end, not an error.
  { openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
      -iv "$1" -in /dev/zero 2>/dev/null || true; } | head -c "$2"
}
cp "/boot/vmlinuz-$KVER" "$TREE/$K"
if [ -n "${BENCH_INITRD:-}" ]; then
  say "using the initramfs $BENCH_INITRD"
  cp "$BENCH_INITRD" "$TREE/$I"
else
  # As src/dracut.rs builds a live initramfs (Purpose::Live, Flavour::Full), compressed
  # with zstd as Fedora's live ISOs are.
  say "building a livenet initramfs for $KVER with dracut (0.5 to 3 minutes)"
  legacy=()
  [ -d /usr/lib/dracut/modules.d/35network-legacy ] &&
    legacy=(--add network-legacy --omit "systemd-networkd plymouth")
  mkdir -p "$W/dracut.tmp"
  dracut --no-hostonly --force --add "livenet dmsquash-live" "${legacy[@]}" \
    --compress zstd --tmpdir "$W/dracut.tmp" --kver "$KVER" "$TREE/$I" > "$W/dracut.log" 2>&1 ||
    die "dracut failed: $(tail -5 "$W/dracut.log")"
  rm -rf "$W/dracut.tmp"
fi
# pxe-kit would build its own initramfs from one without livenet: the bench would be wrong.
# (The listing is kept whole: grep -q would end the pipe early and pipefail would fail it.)
listing=$(zstd -dcq "$TREE/$I" 2>/dev/null | cpio -it --quiet 2>/dev/null) || listing=
grep -q 'sbin/livenetroot$' <<< "$listing" ||
  die "$TREE/$I is not a zstd initramfs with dracut's livenet module"
(
  d=$W/initrd.tree
  mkdir -p "$d/usr/sbin"
  printf 'x\n' > "$d/usr/sbin/livenetroot"
  printf 'x\n' > "$d/usr/sbin/dmsquash-live-root"
  cd "$d" && printf 'usr/sbin/livenetroot\nusr/sbin/dmsquash-live-root\n' |
    cpio -o -H newc --quiet > "$W/initrd-marker.img"
  rm -rf "$d"
)
say "building two $SIZE_MIB MiB live ISOs in $W (kernel $KVER)"
{ printf 'hsqs'; prng 02000000000000000000000000000000 $(((SIZE_MIB << 20) - 4)); } > "$TREE/$R"
xorriso -no_rc -report_about SORRY -outdev "$ISO" -map "$TREE" / >/dev/null 2>&1 ||
  die "xorriso could not build $ISO"
xorriso -no_rc -report_about SORRY -outdev "$ISO_M" -map "$TREE" / \
  -map "$W/initrd-marker.img" "/$I" >/dev/null 2>&1 || die "xorriso could not build $ISO_M"
SRC=("$TREE/$K" "$TREE/$I" "$TREE/$R")
BYTES=$(stat -c %s "${SRC[@]}" | awk '{s += $1} END {print s}')
BYTES_M=$(stat -c %s "$TREE/$K" "$W/initrd-marker.img" "$TREE/$R" | awk '{s += $1} END {print s}')
WANT_SUMS=$(cd "$TREE" && sha256sum "$K" "$I" "$R" | awk '{print $1}')
WANT_SUMS_M=$(sha256sum "$TREE/$K" "$W/initrd-marker.img" "$TREE/$R" | awk '{print $1}')

# --- the staged root ------------------------------------------------------------------
ST=$W/staged
mkdir -p "$ST/etc"
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' > "$ST/etc/os-release"
for f in "${LOADERS[@]}"; do
  mkdir -p "$ST$(dirname "$f")" && cp "$f" "$ST$f"
done
export NO_COLOR=1
"$PXE_KIT" --root "$ST" --distro debian -q init --interface ens4 --server-ip 10.0.0.1 \
  --subnet 10.0.0.0/24 --range 10.0.0.100-10.0.0.200 >/dev/null || die "pxe-kit init failed"

# --- the variants ---------------------------------------------------------------------
OUT=$W/out
VARIANTS=(cp cp_fsync dd_fsync openssl xorriso bsdtar pxekit pxekit_marker)
declare -A LABEL=(
  [cp]="cp (no fsync, reference)" [cp_fsync]="cp + fsync" [dd_fsync]="dd conv=fsync"
  [openssl]="openssl dgst -sha256" [xorriso]="xorriso + sha256sum"
  [bsdtar]="bsdtar + sha256sum" [pxekit]="pxe-kit add-image"
  [pxekit_marker]="... marker initrd"
)
run_cp() { cp "${SRC[@]}" "$OUT/"; }
run_cp_fsync() { cp "${SRC[@]}" "$OUT/" && sync "$OUT"/*; }
run_dd_fsync() {
  local f
  for f in "${SRC[@]}"; do dd if="$f" of="$OUT/${f##*/}" bs=2M conv=fsync status=none || return; done
}
run_openssl() { openssl dgst -sha256 "${SRC[@]}" > "$W/sums.openssl"; }
run_xorriso() {
  xorriso -no_rc -report_about SORRY -osirrox on -indev "$ISO" \
    -extract "/$K" "$OUT/vmlinuz" -extract "/$I" "$OUT/initrd.img" \
    -extract "/$R" "$OUT/squashfs.img" >/dev/null 2>&1 &&
    (cd "$OUT" && sha256sum vmlinuz initrd.img squashfs.img) > "$W/sums.xorriso"
}
run_bsdtar() {
  bsdtar -x -f "$ISO" -C "$OUT" LiveOS images &&
    (cd "$OUT" && sha256sum "$K" "$I" "$R") > "$W/sums.bsdtar"
}
run_pxekit() { "$PXE_KIT" --root "$ST" -q add-image "$ISO" --name bench; }
run_pxekit_marker() { "$PXE_KIT" --root "$ST" -q add-image "$ISO_M" --name bench; }
# Untimed: undo a run so the next one starts from the same state.
reset_all() {
  rm -rf -- "$OUT"; mkdir -p "$OUT"
  if [ -e "$ST/var/lib/pxe-kit/images/bench.yaml" ]; then
    "$PXE_KIT" --root "$ST" -q remove-image bench >/dev/null || die "pxe-kit remove-image failed"
  fi
  sync; sleep 1
}
# Untimed: each variant must really have produced the right bytes.
check() {
  local got want=$WANT_SUMS
  case $1 in
    openssl) got=$(awk '{print $NF}' "$W/sums.openssl") ;;
    xorriso | bsdtar) got=$(awk '{print $1}' "$W/sums.$1") ;;
    pxekit | pxekit_marker)
      [ "$1" = pxekit_marker ] && want=$WANT_SUMS_M
      got=$(for r in kernel initrd root; do
        awk -v r="$r" '$0 ~ "role: " r "$" {f = 1} f && $1 == "sha256:" {print $2; exit}' \
          "$ST/var/lib/pxe-kit/images/bench.yaml"
      done) ;;
    *) got=$(cd "$OUT" && sha256sum vmlinuz initrd.img squashfs.img | awk '{print $1}') ;;
  esac
  [ "$got" = "$want" ] || die "$1 produced wrong bytes or digests:
$got
expected:
$want"
}

# Warm the page cache: every variant reads cached bytes.
cat "$ISO" "$ISO_M" "${SRC[@]}" > /dev/null
declare -A TIMES
say "running $ROUNDS rounds of ${#VARIANTS[@]} variants"
for ((r = 0; r < ROUNDS; r++)); do
  n=${#VARIANTS[@]}
  for ((j = 0; j < n; j++)); do
    v=${VARIANTS[$(((j + r) % n))]}
    reset_all
    t0=$EPOCHREALTIME
    "run_$v" || die "variant $v failed"
    t1=$EPOCHREALTIME
    check "$v"
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    TIMES[$v]+="$s "
    printf '   round %d  %-26s %7ss\n' $((r + 1)) "${LABEL[$v]}" "$s" >&2
  done
done
reset_all

median() { tr ' ' '\n' <<< "$1" | grep . | sort -g |
  awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
declare -A MED
for v in "${VARIANTS[@]}"; do MED[$v]=$(median "${TIMES[$v]}"); done
calc() { awk "BEGIN {printf \"$1\", $2}"; }
copy_floor=$(calc %.3f "(${MED[cp_fsync]} < ${MED[dd_fsync]}) ? ${MED[cp_fsync]} : ${MED[dd_fsync]}")
floor=$(calc %.3f "($copy_floor > ${MED[openssl]}) ? $copy_floor : ${MED[openssl]}")
floor_by=$(calc %s "($copy_floor > ${MED[openssl]}) ? \"copy + fsync\" : \"sha256\"")

sha_ni=no; grep -qw sha_ni /proc/cpuinfo && sha_ni=yes
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
fs=$(findmnt -no FSTYPE -T "$W" 2>/dev/null || echo '?')
echo
echo "machine: nproc=$(nproc), sha_ni=$sha_ni, $(openssl version | cut -d' ' -f1-2), cpu: ${cpu:-?}"
# CPU-only SHA-256 rate (no I/O, no syscalls): what hashing would cost with perfect reads.
sha_cpu=$(openssl speed -seconds 2 -bytes 1048576 -evp sha256 2>/dev/null |
  awk '$1 == "sha256" {sub(/k$/, "", $2); printf "%.0f", $2 / 1000}') || true
[ -n "$sha_cpu" ] && echo "         openssl speed -evp sha256 (1 MiB blocks, CPU only): $sha_cpu MB/s = $(calc %.3f "$BYTES / 1e6 / $sha_cpu")s for the bytes"
echo "         $(free -m | awk '/^Mem:/ {print $2 " MiB RAM"}'), workdir filesystem: $fs ($PARENT)"
echo "input:   $BYTES bytes (squashfs.img $SIZE_MIB MiB + kernel $KVER $(stat -c %s "$TREE/$K") + initrd $(stat -c %s "$TREE/$I"))"
echo "         from a $(stat -c %s "$ISO")-byte ISO; the marker-initrd ISO's files: $BYTES_M bytes;"
echo "         median of $ROUNDS rounds; floor = max(fastest copy + fsync, openssl sha256) = ${floor}s ($floor_by)"
echo
printf '%-28s %10s %9s %10s\n' variant 'median s' 'MB/s' 'x floor'
printf '%-28s %10s %9s %10s\n' ---------------------------- ---------- --------- ----------
for v in "${VARIANTS[@]}"; do
  # The marker ISO has fewer bytes: its floor is the measured one scaled to them.
  b=$BYTES f=$floor
  [ "$v" = pxekit_marker ] && b=$BYTES_M f=$(calc %.6f "$floor * $BYTES_M / $BYTES")
  printf '%-28s %10s %9s %9sx\n' "${LABEL[$v]}" "${MED[$v]}" \
    "$(calc %.0f "$b / ${MED[$v]} / 1e6")" "$(calc %.2f "${MED[$v]} / $f")"
done
echo
px=${MED[pxekit]}
ratio=$(calc %.2f "$px / $floor")
ok=$(calc %s "($ratio <= 1.2) ? \"PASS\" : \"MISS\"")
echo "verdict: pxe-kit / floor = ${ratio}x (target <= 1.20x): $ok"
for v in xorriso bsdtar; do
  h=${MED[$v]}
  rel=$(calc %s "($px < $h) ? sprintf(\"%.2fx faster\", $h / $px) : sprintf(\"%.2fx slower\", $px / $h)")
  ok=$(calc %s "($px < $h) ? \"PASS\" : \"MISS\"")
  echo "verdict: pxe-kit vs ${LABEL[$v]}: ${px}s vs ${h}s, $rel (target: faster): $ok"
done
echo "(whole benchmark: $(calc %.0f "$EPOCHREALTIME - $T_START") s)"
