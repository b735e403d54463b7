#!/usr/bin/env bash
# Downloads the default guest's Debian 12 (bookworm) i386 packages into the
# git-ignored cache guests/cache/: the kernel (linux-image-686 and -686-pae,
# resolved to today's versions) and busybox-static. It uses a private apt
# configuration (its own package lists and archive cache, i386 only) and leaves
# the host's apt state alone. Incremental: packages already extracted are kept.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
C="${BT86_GUEST_CACHE:-$here/../cache}"
mkdir -p "$C/lists/partial" "$C/apt/archives/partial" "$C/debs" "$C/root"
APT=(-o APT::Architecture=i386 -o APT::Architectures::=i386 -o "Dir::State::Lists=$C/lists" -o "Dir::Cache=$C/apt"
     -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
stamp="$C/lists/.updated"
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
  echo "fetch: refreshing the i386 package lists" >&2
  apt-get "${APT[@]}" -qq update || echo "fetch: some package index failed to refresh; continuing with what we have" >&2
  touch "$stamp"
fi

# Resolve a metapackage to the concrete package it depends on (linux-image-686 -> linux-image-6.1.0-NN-686).
resolve() {
  apt-cache "${APT[@]}" depends "$1" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

fetch() {
  local pkg="$1"
  local ver
  ver="$(apt-cache "${APT[@]}" show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ {print $2; exit}')"
  [ -n "$ver" ] || { echo "fetch: package $pkg is not in the i386 lists" >&2; exit 1; }
  local deb
  deb="$(ls "$C/debs/${pkg}_"*"_i386.deb" 2>/dev/null | head -1 || true)"
  if [ -z "$deb" ] || [[ "$deb" != *"_${ver//:/%3a}_"* ]]; then
    echo "fetch: downloading $pkg $ver" >&2
    (cd "$C/debs" && rm -f "${pkg}_"*"_i386.deb" && apt-get "${APT[@]}" -qq download "$pkg")
    deb="$(ls "$C/debs/${pkg}_"*"_i386.deb" | head -1)"
  fi
  echo "$deb"
}

k686="$(resolve linux-image-686)"
kpae="$(resolve linux-image-686-pae)"
[ -n "$k686" ] && [ -n "$kpae" ] || { echo "fetch: cannot resolve linux-image-686 / -686-pae" >&2; exit 1; }
for pkg in "$k686" "$kpae"; do
  deb="$(fetch "$pkg")"
  flavour="${pkg##*-}"; [ "$pkg" = "$kpae" ] && flavour="686-pae"
  out="$C/vmlinuz-$flavour"
  if [ ! -f "$out" ] || [ "$deb" -nt "$out" ]; then
    rm -rf "$C/root/$pkg"; mkdir -p "$C/root/$pkg"
    dpkg-deb -x "$deb" "$C/root/$pkg"
    cp "$(ls "$C/root/$pkg"/boot/vmlinuz-* | head -1)" "$out"
    rm -rf "$C/root/$pkg"
  fi
  echo "$pkg" > "$out.version"
done
deb="$(fetch busybox-static)"
if [ ! -f "$C/busybox" ] || [ "$deb" -nt "$C/busybox" ]; then
  rm -rf "$C/root/busybox"; mkdir -p "$C/root/busybox"
  dpkg-deb -x "$deb" "$C/root/busybox"
  cp "$C/root/busybox/bin/busybox" "$C/busybox"
  rm -rf "$C/root/busybox"
fi
echo "fetch: kernels $(cat "$C/vmlinuz-686.version") $(cat "$C/vmlinuz-686-pae.version"), busybox ready in $C" >&2
