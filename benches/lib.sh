# benches/lib.sh — what every bench script shares: its messages, the pxe-kit binary it runs
# and the staged demo server. Sourced (not run) by the benches, after they set BENCH (their
# name, for messages) and REPO (the checkout).

# Ends the bench with exit status 2: it could not run.
die() { echo "$BENCH bench: $*" >&2; exit 2; }
# Progress on stderr, so the table on stdout stays clean.
say() { echo "== $*" >&2; }

# Sets PXE_KIT: the binary given in the environment, else a release build of this checkout.
use_pxe_kit() {
    if [ -z "${PXE_KIT:-}" ]; then
        say "building pxe-kit (release; waits if another build holds the target dir)"
        (cd "$REPO" && cargo build --release --locked --quiet) || die "cargo build --release failed"
        PXE_KIT=$REPO/target/release/pxe-kit
    fi
    [ -x "$PXE_KIT" ] || die "$PXE_KIT is not an executable"
}

# Stages the demo image and a server for it (`pxe-kit lab demo --no-boot`, its output in
# $1): sets DEMO_ROOT (the staged root) and DEMO_WORK (its work directory: remove it when
# done).
stage_demo() {
    say "staging the demo image and server (pxe-kit lab demo --no-boot)"
    "$PXE_KIT" lab demo --no-boot >"$1" 2>&1 || { cat "$1" >&2; die "lab demo failed"; }
    DEMO_ROOT=$(sed -n 's/.*pxe-kit --root \([^ ]*\) lab boot.*/\1/p' "$1" | head -1)
    [ -d "$DEMO_ROOT" ] || die "no staged root in: $(cat "$1")"
    DEMO_WORK=$(dirname "$DEMO_ROOT")
}

# Seconds since $1 (an $EPOCHREALTIME), with format $2 (default %.0f).
seconds_since() { awk -v a="$EPOCHREALTIME" -v b="$1" -v f="${2:-%.0f}" 'BEGIN {printf f, a - b}'; }
