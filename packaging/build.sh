#!/usr/bin/env bash
# Builds pxe-kit's packages: a .deb (cargo-deb) and an .rpm (cargo-generate-rpm) with the
# binary, the man pages (man/), the shell completions (completions/) in each distribution's
# places, the licenses and the README (metadata in Cargo.toml), then lists what went in.
#
#   packaging/build.sh                 release build (cargo build --release), both packages
#   packaging/build.sh --debug         package the debug build that `cargo build`/`cargo test`
#                                      already made (stripped in both): no second compile;
#                                      what CI checks and what `lab server`'s test installs
#   --deb-only | --rpm-only            one of the two
#   --out DIR                          where the packages go [default: target/debian and
#                                      target/generate-rpm]
#
# Needs cargo-deb and cargo-generate-rpm (`.ci/install-deps all` installs the pinned versions) and,
# for the listing, dpkg-deb and rpm.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release deb=1 rpm=1 out=
while [ $# -gt 0 ]; do
  case $1 in
    --debug) profile=dev; shift ;;
    --deb-only) rpm=0; shift ;;
    --rpm-only) deb=0; shift ;;
    --out) out=$2; shift 2 ;;
    *) echo "packaging/build.sh: unknown argument $1; see the comment at the top" >&2; exit 2 ;;
  esac
done
if [ -n "$out" ]; then mkdir -p "$out"; out=$(cd "$out" && pwd); fi

if [ "$profile" = release ]; then
  cargo build --release --locked
elif [ ! -x target/debug/pxe-kit ]; then
  cargo build --locked
fi
dir=target/$([ "$profile" = dev ] && echo debug || echo release)

if [ $deb = 1 ]; then
  # --no-build: the binary is built above; cargo-deb strips its own copy (the debug build
  # shrinks from ~170 MB to ~15 MB) and compresses the man pages as Debian wants.
  cargo deb --no-build --profile "$profile" --strip --no-dbgsym ${out:+--output "$out"} -q
  d=$(ls -t "${out:-target/debian}"/pxe-kit_*.deb | head -n 1)
  echo "built $d"
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -I "$d" | sed -n '/Package:/,$p'
    dpkg-deb -c "$d" | awk '{print "  " $6}'
  fi
fi
if [ $rpm = 1 ]; then
  # cargo-generate-rpm packs the binary as it is; both profiles carry debug info (~170 MB in
  # the debug build, whose zstd payload took minutes). A stripped copy under its own target
  # directory is what goes in (cargo-generate-rpm maps target/release/ to DIR/PROFILE/).
  mkdir -p "target/rpm-stage/${dir#target/}"
  strip -o "target/rpm-stage/${dir#target/}/pxe-kit" "$dir/pxe-kit"
  cargo generate-rpm --profile "$profile" --target-dir target/rpm-stage ${out:+--output "$out"}
  r=$(ls -t "${out:-target/generate-rpm}"/pxe-kit-*.rpm | head -n 1)
  echo "built $r"
  if command -v rpm >/dev/null; then
    rpm -qip "$r" 2>/dev/null | sed -n '1,/^Description/p'
    rpm -qlp "$r" | sed 's/^/  /'
  fi
fi
