#!/bin/sh
# Gathers what promlab's image holds into ROOT: the binary, the C libraries it links (glibc and libgcc_s,
# found by ldd, so the same script serves amd64 and arm64), the CA bundle (for `backup --to s3://` over
# https), passwd and group lines for uid 10001, promlab's state folder and /tmp. The image is ROOT on an
# empty base: no shell, no package manager, nothing else to patch or to scan.
#   rootfs.sh BINARY CA_BUNDLE ROOT
set -eu
binary=$1 ca=$2 root=$3
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/var/lib/promlab"
cp "$binary" "$root/usr/local/bin/promlab"
# ldd's lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)", "/lib64/ld-linux-x86-64.so.2 (0x…)",
# and the vDSO, which has no file.
ldd "$binary" | grep -o '/[^ ]*' | while read -r library; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done
cp "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\npromlab:x:10001:10001:promlab:/var/lib/promlab:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' \
  > "$root/etc/passwd"
printf 'root:x:0:\npromlab:x:10001:\nnogroup:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"
# A new named volume mounted on the state folder takes its owner: the unprivileged user can write it.
chown 10001:10001 "$root/var/lib/promlab"
