#!/usr/bin/env bash
# Checks the packages packaging/build.sh made in DIR: metadata (dpkg-deb -I, rpm -qip) and
# that every file users need is in its distribution's place (dpkg-deb -c, rpm -qlp). CI runs
# it; exits non-zero naming the first missing file.
#   packaging/check.sh DIR
set -euo pipefail
dir=${1:?usage: packaging/check.sh DIR}
deb=$(ls -t "$dir"/pxe-kit_*.deb | head -n 1)
rpm=$(ls -t "$dir"/pxe-kit-*.rpm | head -n 1)
fail() { echo "packaging/check.sh: $*" >&2; exit 1; }

info=$(dpkg-deb -I "$deb")
for f in 'Package: pxe-kit' 'Architecture: amd64' 'Depends: libc6' 'Section: admin'; do
  grep -q "^ $f" <<<"$info" || fail "$deb: no '$f' in its control file"
done
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
want=(./usr/bin/pxe-kit ./usr/share/man/man1/pxe-kit.1.gz ./usr/share/man/man1/pxe-kit-init.1.gz
  ./usr/share/man/man1/pxe-kit-lab.1.gz ./usr/share/bash-completion/completions/pxe-kit
  ./usr/share/zsh/vendor-completions/_pxe-kit ./usr/share/fish/vendor_completions.d/pxe-kit.fish
  ./usr/share/doc/pxe-kit/copyright ./usr/share/doc/pxe-kit/README.md
  ./usr/share/doc/pxe-kit/LICENSE-MIT ./usr/share/doc/pxe-kit/LICENSE-APACHE)
for f in "${want[@]}"; do grep -qx -- "$f" <<<"$files" || fail "$deb: $f is missing"; done
pages=$(ls man/*.1 | wc -l)
[ "$(grep -c '^./usr/share/man/man1/.*\.1\.gz$' <<<"$files")" = "$pages" ] || fail "$deb: not all $pages man pages"
echo "$deb: $(wc -l <<<"$files") entries, all expected files present"

info=$(rpm -qip "$rpm" 2>/dev/null)
for f in 'Name *: pxe-kit' 'License *: MIT OR Apache-2.0' 'Architecture: x86_64'; do
  grep -Eq "^$f" <<<"$info" || fail "$rpm: no '$f' in its header"
done
files=$(rpm -qlp "$rpm" 2>/dev/null)
want=(/usr/bin/pxe-kit /usr/share/man/man1/pxe-kit.1 /usr/share/man/man1/pxe-kit-init.1
  /usr/share/man/man1/pxe-kit-lab.1 /usr/share/bash-completion/completions/pxe-kit
  /usr/share/zsh/site-functions/_pxe-kit /usr/share/fish/vendor_completions.d/pxe-kit.fish
  /usr/share/doc/pxe-kit/README.md /usr/share/licenses/pxe-kit/LICENSE-MIT
  /usr/share/licenses/pxe-kit/LICENSE-APACHE)
for f in "${want[@]}"; do grep -qx -- "$f" <<<"$files" || fail "$rpm: $f is missing"; done
[ "$(grep -c '^/usr/share/man/man1/.*\.1$' <<<"$files")" = "$pages" ] || fail "$rpm: not all $pages man pages"
# Stripped: the debug info alone is ~150 MB.
size=$(rpm -qlvp "$rpm" 2>/dev/null | awk '$NF == "/usr/bin/pxe-kit" {print $5}')
[ "${size:-0}" -lt $((64 << 20)) ] || fail "$rpm: /usr/bin/pxe-kit is $size bytes: not stripped"
echo "$rpm: $(wc -l <<<"$files") files, all expected files present"
