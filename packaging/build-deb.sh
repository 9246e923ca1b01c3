#!/usr/bin/env bash
# Builds lightscope_<version>_<arch>.deb from this checkout and prints its path
# as the last line of stdout (everything else goes to stderr).
#
#   packaging/build-deb.sh                           version from Sources/LightScopeCore/Version.swift
#   LIGHTSCOPE_VERSION=0.1.1 packaging/build-deb.sh  another version (the upgrade test uses this)
#
# Needs: a Swift 6 toolchain, libpcap-dev, libsystemd-dev, dpkg-dev (scripts/install-deps.sh).
# Output: .build/deb/ (git-ignored). Runs as any user: ownership in the .deb is
# root:root through dpkg-deb --root-owner-group, no fakeroot needed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/env.sh

# Everything but the final path goes to stderr, so callers can do deb=$(packaging/build-deb.sh | tail -n1).
exec 3>&1 1>&2

upstream=$(sed -n 's/.*static let current = "\([^"]*\)".*/\1/p' Sources/LightScopeCore/Version.swift)
[ -n "$upstream" ] || { echo "error: no version in Sources/LightScopeCore/Version.swift" >&2; exit 1; }
version=${LIGHTSCOPE_VERSION:-$upstream}
# A Debian revision makes it a non-native package, whose changelog is changelog.Debian.gz.
case $version in *-*) ;; *) version=$version-1 ;; esac
arch=$(dpkg --print-architecture)
maintainer="LightScope maintainers <maintainers@users.noreply.r-seed-a6242287.example>"
# Reproducible timestamps: the last commit's time when this is a git checkout.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

echo "== swift build (release, static Swift runtime)"
# Full RELRO and immediate binding, as Debian's hardening flags ask for.
swift build -c release --static-swift-stdlib --product lightscope \
    -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now
binary=$(swift build -c release --static-swift-stdlib --product lightscope --show-bin-path)/lightscope

out=$root/.build/deb
stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
# Directories 0755 and files 0644 unless said otherwise, whatever the caller's umask.
umask 022

echo "== staging $stage"
install -D -m 0755 "$binary" "$stage/usr/sbin/lightscope"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/sbin/lightscope"
install -D -m 0644 packaging/lightscope.service "$stage/lib/systemd/system/lightscope.service"
install -D -m 0644 packaging/lightscope-alert@.service "$stage/lib/systemd/system/lightscope-alert@.service"
install -D -m 0644 packaging/lightscope.conf "$stage/etc/lightscope/lightscope.conf"
doc=$stage/usr/share/doc/lightscope
install -D -m 0644 packaging/debian/copyright "$doc/copyright"

# changelog.Debian.gz: the packaged changelog, plus an entry for a version it does not know yet.
changelog=$out/changelog
cp packaging/debian/changelog "$changelog"
if [ "$(dpkg-parsechangelog -l "$changelog" -S Version)" != "$version" ]; then
    { printf 'lightscope (%s) unstable; urgency=medium\n\n  * Build of %s from git %s.\n\n -- %s  %s\n\n' \
        "$version" "$version" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$maintainer" "$(date -R -u -d "@$SOURCE_DATE_EPOCH")"
      cat packaging/debian/changelog; } > "$changelog"
fi
gzip -9n < "$changelog" > "$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

mkdir -p "$stage/usr/share/man/man8"
sed "s/@VERSION@/$version/" packaging/lightscope.8 | gzip -9n > "$stage/usr/share/man/man8/lightscope.8.gz"
chmod 0644 "$stage/usr/share/man/man8/lightscope.8.gz"

# Overrides only with a written reason: ship the file only if it has any.
if grep -qv '^\s*\(#\|$\)' packaging/lintian-overrides 2>/dev/null; then
    install -D -m 0644 packaging/lintian-overrides "$stage/usr/share/lintian/overrides/lightscope"
fi

install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"
install -m 0644 packaging/debian/conffiles "$stage/DEBIAN/conffiles"

echo "== runtime dependencies (dpkg-shlibdeps on the stripped binary)"
# dpkg-shlibdeps wants a debian/control; give it a minimal one in a scratch dir.
scratch=$out/shlibdeps
rm -rf "$scratch" && mkdir -p "$scratch/debian"
printf 'Source: lightscope\n\nPackage: lightscope\nArchitecture: any\n' > "$scratch/debian/control"
shlibs=$(cd "$scratch" && dpkg-shlibdeps -O "$stage/usr/sbin/lightscope" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "error: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
case $shlibs in *-dev*) echo "error: a -dev package in Depends: $shlibs" >&2; exit 1 ;; esac
# adduser: postinst creates the system user.
depends="adduser, $shlibs"
echo "Depends: $depends"

(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"
installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@MAINTAINER@/$maintainer/" \
    -e "s/@INSTALLED_SIZE@/$installed_size/" -e "s/@DEPENDS@/$depends/" \
    packaging/debian/control.in > "$stage/DEBIAN/control"

deb=$out/lightscope_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb"
echo "$deb" >&3
