#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-in-vm.sh — run one command inside Debian's own kernel (with IPVS) under
# qemu/TCG, from a throw-away busybox initramfs, and exit with its status.
#
#   tests/vm/run-in-vm.sh [options] -- COMMAND [ARGS...]
#
# Options:
#   --file HOST[:GUEST]  copy HOST (file or directory) into the guest at GUEST
#                        (default: the same absolute path as on the host;
#                        a relative GUEST is relative to the guest's cwd).
#                        ELF files get the libraries `ldd` lists copied too.
#   --timeout SECS       kill the VM after SECS seconds (default 120) -> exit 124
#   --mem MB             guest memory (default 512)
#   --smp N              guest CPUs (default 1; TCG, so more is rarely faster)
#   --env NAME=VALUE     set an environment variable for COMMAND
#   --module NAME        also put kernel module NAME (+ deps) in the initramfs
#                        and load it at boot
#   --no-modules         do not insmod anything at boot (modules are still in
#                        the initramfs; `modprobe ip_vs` works in the guest)
#   --append ARGS        extra kernel command line
#   --console            also copy the raw serial console to stderr (live)
#   --interactive        after COMMAND, open a shell on the VM's console on this
#                        terminal (stdin must be a TTY); the VM powers off when it
#                        exits. No output capture or exit status then.
#   -q, --quiet          no summary line on stderr
#   --fetch-kernel       (re)download the newest linux-image-amd64 and exit
#   --build-only         build/refresh the cached base initramfs and exit
#
# COMMAND runs as root (pid != 1) in the guest, in the host's cwd (created,
# empty, in the guest), stdin </dev/null, stdout+stderr on the serial console.
# Everything it prints goes to this script's stdout; harness messages go to
# stderr.  Exit status: COMMAND's, 124 on timeout, 125 on harness failure.
#
# Environment: HD_VM_CACHE (cache dir, default /var/cache/hadirector-vm, or
# ~/.cache/hadirector-vm when that is not writable), HD_VM_KERNEL_DEB (use this
# linux-image .deb instead of `apt-get download`), HD_VM_TIMEOUT, HD_VM_MEM,
# HD_VM_SMP, HD_VM_QEMU (qemu binary), HD_VM_CONSOLE=1 (same as --console),
# HD_VM_BZIMAGE=1 (boot the compressed bzImage instead of the PVH vmlinux).
#
# Guest: merged /usr (/bin, /sbin, /lib, /lib64 -> usr/...), /bin/sh is dash,
# bash is there, busybox supplies the other tools; real ip, bridge, ss,
# ipvsadm, env, timeout, xargs, nsenter, unshare from the host.  ip_vs, all
# schedulers, veth, bridge, dummy, macvlan, tun, ipip, gre, sit, ip6_tunnel,
# nf_conntrack and nf_nat are loaded at boot (see BASE_MODULES below).
set -euo pipefail
export LC_ALL=C

ME="run-in-vm"
SELF="$(readlink -f "${BASH_SOURCE[0]}")"
die() { echo "$ME: error: $*" >&2; exit 125; }
note() { echo "$ME: $*" >&2; }

# ---------------------------------------------------------------- options
timeout_s="${HD_VM_TIMEOUT:-120}"
mem="${HD_VM_MEM:-512}"
smp="${HD_VM_SMP:-1}"
console="${HD_VM_CONSOLE:-0}"
interactive=0
quiet=0
load_modules=1
append=""
action=run
files=()
envs=()
extra_modules=()
while (($#)); do
  case "$1" in
    --file) (($# >= 2)) || die "--file needs an argument"; files+=("$2"); shift 2 ;;
    --file=*) files+=("${1#*=}"); shift ;;
    --timeout) (($# >= 2)) || die "--timeout needs an argument"; timeout_s="$2"; shift 2 ;;
    --timeout=*) timeout_s="${1#*=}"; shift ;;
    --mem) (($# >= 2)) || die "--mem needs an argument"; mem="$2"; shift 2 ;;
    --mem=*) mem="${1#*=}"; shift ;;
    --smp) (($# >= 2)) || die "--smp needs an argument"; smp="$2"; shift 2 ;;
    --smp=*) smp="${1#*=}"; shift ;;
    --env) (($# >= 2)) || die "--env needs an argument"; envs+=("$2"); shift 2 ;;
    --env=*) envs+=("${1#*=}"); shift ;;
    --module) (($# >= 2)) || die "--module needs an argument"; extra_modules+=("$2"); shift 2 ;;
    --module=*) extra_modules+=("${1#*=}"); shift ;;
    --no-modules) load_modules=0; shift ;;
    --append) (($# >= 2)) || die "--append needs an argument"; append="$append $2"; shift 2 ;;
    --append=*) append="$append ${1#*=}"; shift ;;
    --console) console=1; shift ;;
    --interactive) interactive=1; shift ;;
    -q|--quiet) quiet=1; shift ;;
    --fetch-kernel) action=fetch; shift ;;
    --build-only) action=build; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$SELF"; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) break ;;
  esac
done
[[ "$timeout_s" =~ ^[0-9]+$ && "$timeout_s" -gt 0 ]] || die "bad --timeout: $timeout_s"
[[ "$mem" =~ ^[0-9]+$ && "$mem" -ge 128 ]] || die "bad --mem: $mem (MB, >= 128)"
[[ "$smp" =~ ^[0-9]+$ && "$smp" -ge 1 ]] || die "bad --smp: $smp"
for e in "${envs[@]}"; do [[ "$e" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "bad --env: $e"; done
if [[ $action == run && $# -eq 0 ]]; then die "no command given (usage: $ME [options] -- COMMAND [ARGS...])"; fi

# The modules every VM gets: IPVS with all schedulers (+ FTP helper, SIP PE),
# and what tests need to build topologies with network namespaces.
# Built-in ones (modprobe says "builtin") are skipped automatically.
BASE_MODULES=(
  ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh
  ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_ftp ip_vs_pe_sip
  veth bridge dummy macvlan ipip ip_gre ip6_tunnel sit tun
  nf_conntrack nf_nat
)
# Host binaries copied into every VM (with their libraries).  busybox
# supplies everything else, but Debian's busybox-static prefers its own
# applets over $PATH (ash and applets that exec, like env/timeout/xargs), so
# `ip netns` would hit busybox's `ip`: hence /bin/sh is dash, and the
# exec-ing tools are the real ones too.
BASE_BINARIES=(
  /usr/sbin/ipvsadm /usr/sbin/ip /usr/sbin/bridge /usr/bin/ss
  /usr/bin/dash /usr/bin/bash /usr/bin/env /usr/bin/timeout /usr/bin/xargs
  /usr/bin/nsenter /usr/bin/unshare
)

for t in qemu-system-x86_64 busybox cpio gzip ldd depmod modprobe flock sha256sum; do
  command -v "$t" >/dev/null 2>&1 || [[ -x /usr/sbin/$t || -x /sbin/$t ]] ||
    die "'$t' not found; run scripts/install-vm-deps.sh (as root)"
done
export PATH="$PATH:/usr/sbin:/sbin"
QEMU="${HD_VM_QEMU:-qemu-system-x86_64}"
BUSYBOX="$(command -v busybox)"
ldd "$BUSYBOX" >/dev/null 2>&1 && die "$BUSYBOX is not static; install busybox-static"

# ---------------------------------------------------------------- cache
if [[ -n "${HD_VM_CACHE:-}" ]]; then
  CACHE="$HD_VM_CACHE"
elif [[ -w /var/cache/hadirector-vm ]] || { [[ ! -e /var/cache/hadirector-vm ]] && [[ -w /var/cache ]]; }; then
  CACHE=/var/cache/hadirector-vm
else
  CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/hadirector-vm"
fi
mkdir -p "$CACHE/kernel" "$CACHE/initramfs" || die "cannot create cache dir $CACHE (set HD_VM_CACHE)"
exec 9>>"$CACHE/.lock"
lock() { flock 9; }
unlock() { flock -u 9; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hd-vm.XXXXXX")"
qpid=""
cleanup() {
  if [[ -n "$qpid" ]] && kill -0 "$qpid" 2>/dev/null; then
    kill "$qpid" 2>/dev/null || true
    sleep 0.2; kill -9 "$qpid" 2>/dev/null || true
  fi
  [[ -n "${tailpid:-}" ]] && kill "$tailpid" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fetch_kernel: resolve linux-image-amd64 -> linux-image-<abi>-amd64 <version>,
# `apt-get download` it, `dpkg-deb -x` it, depmod the tree, point
# $CACHE/kernel/current at it.  Never touches the host's /boot.
fetch_kernel() {
  local deb pkg ver dir tmp t0 t1
  t0=$(date +%s.%N)
  tmp="$(mktemp -d "$CACHE/kernel/.new.XXXXXX")"
  chmod 755 "$tmp"
  # let apt's sandbox user write there (avoids the "unsandboxed" warning)
  [[ $EUID -eq 0 ]] && id _apt >/dev/null 2>&1 && chown _apt "$tmp"
  if [[ -n "${HD_VM_KERNEL_DEB:-}" ]]; then
    [[ -f "$HD_VM_KERNEL_DEB" ]] || die "HD_VM_KERNEL_DEB=$HD_VM_KERNEL_DEB: no such file"
    deb="$HD_VM_KERNEL_DEB"
  else
    command -v apt-get >/dev/null || die "apt-get not found (set HD_VM_KERNEL_DEB to a linux-image .deb)"
    resolve() {
      pkg="$(apt-cache depends linux-image-amd64 2>/dev/null |
             awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')"
    }
    resolve
    if [[ -z "$pkg" && $EUID -eq 0 ]]; then
      note "apt lists do not know linux-image-amd64; running apt-get update"
      apt-get update -qq >&2 || true
      resolve
    fi
    [[ -n "$pkg" ]] || die "cannot resolve linux-image-amd64 (run 'apt-get update' as root, or set HD_VM_KERNEL_DEB)"
    ver="$(apt-cache policy "$pkg" | awk '$1 == "Candidate:" { print $2; exit }')"
    [[ -n "$ver" && "$ver" != "(none)" ]] || die "no candidate version for $pkg"
    dir="$CACHE/kernel/${pkg}_${ver}"
    if [[ -f "$dir/.complete" ]]; then
      rm -rf "$tmp"; ln -sfn "$(basename "$dir")" "$CACHE/kernel/current"; return 0
    fi
    note "downloading $pkg=$ver (Debian kernel for the test VM) into $CACHE/kernel"
    (cd "$tmp" && apt-get download -q "$pkg=$ver" >&2) || die "apt-get download $pkg=$ver failed"
    [[ $EUID -eq 0 ]] && chown root "$tmp"
    deb="$(ls "$tmp"/*.deb)"
  fi
  pkg="$(dpkg-deb -f "$deb" Package)"; ver="$(dpkg-deb -f "$deb" Version)"
  dir="$CACHE/kernel/${pkg}_${ver}"
  local size; size=$(stat -c %s "$deb")
  dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"
  [[ "$deb" == "$tmp"/* ]] && rm -f "$deb"
  local kver; kver="$(ls "$tmp/root/lib/modules" | head -n1)"
  [[ -n "$kver" && -f "$tmp/root/boot/vmlinuz-$kver" ]] || die "$deb has no kernel image"
  # Drop hardware driver classes a test VM never loads (keeps the cache at
  # ~150 MB instead of ~440 MB); everything under net/, fs/, lib/, crypto/
  # and drivers/net (except NIC/wireless drivers) stays for --module.
  local k="$tmp/root/lib/modules/$kver/kernel"
  rm -rf "$k/sound" "$k"/drivers/{gpu,media,infiniband,scsi,usb,iio,staging,hwmon,hid,input,comedi,isdn,mtd,bluetooth,video,mmc,target,platform} \
         "$k"/drivers/net/{wireless,ethernet,can,usb}
  depmod -b "$tmp/root" "$kver" || die "depmod failed on the extracted kernel"
  echo "$kver" >"$tmp/kver"
  extract_vmlinux "$tmp" "$kver"
  touch "$tmp/.complete"
  rm -rf "$dir"; mv "$tmp" "$dir"
  ln -sfn "$(basename "$dir")" "$CACHE/kernel/current"
  t1=$(date +%s.%N)
  note "kernel $kver ready ($((size / 1000000)) MB package, $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s download+extract)"
  # keep only the current kernel
  local d
  for d in "$CACHE"/kernel/*/; do
    d="${d%/}"; [[ -L "$d" || "$d" == "$dir" ]] || rm -rf "$d"
  done
}

# extract_vmlinux DIR KVER: unpack the ELF vmlinux from the bzImage into
# DIR/vmlinux.  Debian's kernel has CONFIG_PVH=y, so qemu can start that ELF
# directly (PVH entry): no real-mode setup and, above all, no xz decompression
# of the kernel under TCG, which halves the boot time (~4.8 s -> ~2.5 s).
# On any failure we leave a marker and boot the bzImage instead.
extract_vmlinux() {
  local dir="$1" kver="$2" bz="$1/root/boot/vmlinuz-$2" setup off len magic dec
  [[ -f "$dir/vmlinux" || -f "$dir/no-vmlinux" ]] && return 0
  grep -qx 'CONFIG_PVH=y' "$dir/root/boot/config-$kver" 2>/dev/null || { touch "$dir/no-vmlinux"; return 0; }
  u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
  u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
  setup=$(u8 "$bz" $((0x1f1))); ((setup)) || setup=4
  off=$(( (setup + 1) * 512 + $(u32 "$bz" $((0x248))) )); len=$(u32 "$bz" $((0x24c)))
  magic="$(od -An -tx1 -j "$off" -N4 "$bz" | tr -d ' ')"
  case "$magic" in
    fd377a58) dec="xz -dc --single-stream" ;;
    1f8b*)    dec="gzip -dc" ;;
    28b52ffd) dec="zstd -qdc" ;;
    *) dec="" ;;
  esac
  # (the payload may carry trailing bytes the decompressors complain about:
  #  judge the result, not their exit status)
  if [[ -n "$dec" ]] && command -v "${dec%% *}" >/dev/null; then
    tail -c +$((off + 1)) "$bz" | head -c "$len" | $dec >"$dir/vmlinux.tmp" 2>/dev/null || true
  fi
  if [[ -s "$dir/vmlinux.tmp" && "$(od -An -c -N4 "$dir/vmlinux.tmp" | tr -d ' ')" == '177ELF' ]]; then
    mv "$dir/vmlinux.tmp" "$dir/vmlinux"
  else
    rm -f "$dir/vmlinux.tmp"; touch "$dir/no-vmlinux"
    note "could not extract vmlinux from $bz; booting the bzImage (slower)"
  fi
}

# ---- helpers for filling a staging tree
# guest path of a host file: canonical directory (merged /usr) + basename
canon() { printf '%s/%s\n' "$(readlink -f "$(dirname "$1")")" "$(basename "$1")"; }
# map /bin,/sbin,/lib,/lib64 prefixes to /usr/... (they are symlinks in the guest)
usrmerge() { sed -E 's#^/+(bin|sbin|lib|lib64)(/|$)#/usr/\1\2#; s#^/+#/#' <<<"$1"; }
is_elf() { [[ -f "$1" ]] && [[ "$(head -c4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" == '177ELF' ]]; }
# print the libraries (host paths) an ELF file needs, one per line
elf_libs() {
  local out
  out="$(ldd "$1" 2>/dev/null)" || return 0
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out"
}
# stage_file HOST GUEST_ABS STAGING: copy (dereferenced) with parent dirs
stage_file() {
  local dst
  dst="$3$(usrmerge "$2")"
  mkdir -p "$(dirname "$dst")"
  cp -L --preserve=mode,timestamps "$1" "$dst" || die "cannot copy $1"
}
# stage_libs_for STAGING SKIPLIST FILE...: copy the libraries ELF files need
stage_libs_for() {
  local staging="$1" skip="$2" f lib g
  shift 2
  for f in "$@"; do
    is_elf "$f" || continue
    while IFS= read -r lib; do
      [[ -n "$lib" ]] || continue
      g="$(canon "$lib")"
      [[ -e "$staging$g" ]] && continue
      if [[ -n "$skip" ]] && grep -qxF "$g" "$skip"; then continue; fi
      stage_file "$lib" "$g" "$staging"
    done < <(elf_libs "$f")
  done
}
mkcpio() { (cd "$1" && find . -mindepth 1 | sort | cpio -o -H newc -R 0:0 --quiet); }

# ---------------------------------------------------------------- base initramfs
KROOT="" KVER=""
ensure_kernel() {
  if [[ ! -f "$CACHE/kernel/current/.complete" ]]; then
    lock
    [[ -f "$CACHE/kernel/current/.complete" ]] || fetch_kernel
    unlock
  fi
  local kdir; kdir="$(readlink -f "$CACHE/kernel/current")"
  KROOT="$kdir/root"
  KVER="$(cat "$kdir/kver")"
  if [[ ! -f "$kdir/vmlinux" && ! -f "$kdir/no-vmlinux" ]]; then
    lock; extract_vmlinux "$kdir" "$KVER"; unlock
  fi
  if [[ -f "$kdir/vmlinux" && "${HD_VM_BZIMAGE:-0}" != 1 ]]; then
    VMLINUZ="$kdir/vmlinux"
  else
    VMLINUZ="$KROOT/boot/vmlinuz-$KVER"
  fi
}

# The key covers: this script, the kernel, the module list, and the content
# of every host binary/library that goes into the base image.
base_inputs() {
  local b
  echo "script $(sha256sum <"$SELF" | cut -d' ' -f1)"
  echo "kernel $(readlink "$CACHE/kernel/current") $KVER"
  echo "modules ${BASE_MODULES[*]} ${extra_modules[*]:-}"
  for b in "$BUSYBOX" "${BASE_BINARIES[@]}"; do
    echo "$b"; elf_libs "$b"
  done | sort -u | while IFS= read -r b; do
    [[ -e "$b" ]] && echo "file $b $(sha256sum <"$b" | cut -d' ' -f1)"
  done
}

build_base() {
  local staging="$WORK/base" m line path opts rel a g
  rm -rf "$staging"; mkdir -p "$staging"
  (cd "$staging" &&
   mkdir -p usr/bin usr/sbin usr/lib usr/lib64 proc sys dev tmp run root etc/hd-vm var mnt &&
   ln -s usr/bin bin && ln -s usr/sbin sbin && ln -s usr/lib lib && ln -s usr/lib64 lib64 &&
   ln -s ../run var/run && ln -s ../tmp var/tmp)
  # real tools first, then busybox applets for everything else
  for a in "${BASE_BINARIES[@]}"; do
    [[ -x "$a" ]] || die "$a missing; run scripts/install-vm-deps.sh"
    stage_file "$a" "$(canon "$a")" "$staging"
  done
  stage_libs_for "$staging" "" "${BASE_BINARIES[@]}"
  ln -s dash "$staging/usr/bin/sh"
  cp "$BUSYBOX" "$staging/usr/bin/busybox"
  while IFS= read -r a; do
    [[ "$a" == */* ]] || continue
    g="$(usrmerge "/$a")"
    [[ -e "$staging$g" || -L "$staging$g" ]] && continue
    mkdir -p "$staging$(dirname "$g")"
    ln -s /usr/bin/busybox "$staging$g"
  done < <("$BUSYBOX" --list-full)

  # kernel modules, in dependency order (modprobe --show-depends), deduplicated
  local order="$staging/etc/hd-vm/modules" seen="$WORK/seen"
  : >"$order"; : >"$seen"
  local mdir="lib/modules/$KVER"
  mkdir -p "$staging/usr/$mdir"
  for m in "${BASE_MODULES[@]}" "${extra_modules[@]}"; do
    local deps
    deps="$(modprobe -C /dev/null -d "$KROOT" -S "$KVER" --show-depends "$m" 2>&1)" ||
      die "kernel $KVER has no module '$m': $deps"
    while read -r line; do
      case "$line" in
        builtin*) continue ;;
        insmod\ *) ;;
        *) continue ;;
      esac
      path="$(awk '{print $2}' <<<"$line")"
      opts="$(cut -d' ' -f3- <<<"$line" | sed 's/ *$//')"
      rel="${path#"$KROOT/$mdir/"}"
      grep -qxF "$rel" "$seen" && continue
      echo "$rel" >>"$seen"
      case "$rel" in
        *.ko.xz)  mkdir -p "$(dirname "$staging/usr/$mdir/$rel")"; xz -dc "$path" >"$staging/usr/$mdir/${rel%.xz}"; rel="${rel%.xz}" ;;
        *.ko.zst) mkdir -p "$(dirname "$staging/usr/$mdir/$rel")"; zstd -qdc "$path" >"$staging/usr/$mdir/${rel%.zst}"; rel="${rel%.zst}" ;;
        *.ko.gz)  mkdir -p "$(dirname "$staging/usr/$mdir/$rel")"; gzip -dc "$path" >"$staging/usr/$mdir/${rel%.gz}"; rel="${rel%.gz}" ;;
        *) mkdir -p "$(dirname "$staging/usr/$mdir/$rel")"; cp "$path" "$staging/usr/$mdir/$rel" ;;
      esac
      echo "/$mdir/$rel${opts:+ $opts}" >>"$order"
    done <<<"$deps"
  done
  cp "$KROOT/$mdir"/modules.{order,builtin,builtin.modinfo} "$staging/usr/$mdir/" 2>/dev/null || true
  # the guest's /lib/modules is usr/lib/modules in the staging tree
  depmod -b "$staging/usr" "$KVER" || die "depmod on the initramfs tree failed"

  # /etc
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$staging/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$staging/etc/group"
  printf '127.0.0.1\tlocalhost hdvm\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$staging/etc/hosts"
  printf 'passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\n' >"$staging/etc/nsswitch.conf"
  echo hdvm >"$staging/etc/hostname"
  for a in /etc/services /etc/protocols; do [[ -f $a ]] && cp "$a" "$staging$a"; done
  echo "$KVER" >"$staging/etc/hd-vm/kver"

  cat >"$staging/init" <<'EOF'
#!/bin/sh
# hadirector test VM init (generated by tests/vm/run-in-vm.sh)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# /tmp and /run stay on the rootfs (tmpfs), so --file can put things there
chmod 1777 /tmp; chmod 0755 /run
mkdir -p /dev/pts /dev/shm /run/netns
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
echo 1 >/proc/sys/kernel/printk          # only emergencies on the console
stty -onlcr 2>/dev/null                  # raw \n on the serial line
hostname hdvm
ip link set lo up
. /etc/hd-vm/run.conf                    # HD_VM_NONCE, HD_VM_LOAD_MODULES
: >/run/hd-vm-modules.failed
if [ "$HD_VM_LOAD_MODULES" = 1 ]; then
  while read -r m opts; do
    [ -n "$m" ] || continue
    insmod "$m" $opts 2>>/run/hd-vm-modules.failed || echo "$m" >>/run/hd-vm-modules.failed
  done </etc/hd-vm/modules
fi
read -r up _ </proc/uptime
echo "@@HD_VM_BEGIN $HD_VM_NONCE uptime=$up@@"
/bin/sh /etc/hd-vm/cmd </dev/null
rc=$?
if [ "${HD_VM_INTERACTIVE:-0}" = 1 ]; then
  stty onlcr 2>/dev/null
  echo "hadirector VM: command exited $rc; a shell on the VM follows (exit powers it off)"
  setsid -c /bin/sh -i </dev/console >/dev/console 2>&1
fi
read -r up _ </proc/uptime
printf '\n@@HD_VM_EXIT=%d %s uptime=%s@@\n' "$rc" "$HD_VM_NONCE" "$up"
stty -onlcr 2>/dev/null                  # tcsetattr(TCSADRAIN): wait until sent
sync
poweroff -f
EOF
  chmod 755 "$staging/init"
  find "$staging" -type f -o -type l | sed "s#^$staging##" | sort >"$WORK/base.list"
  mkcpio "$staging" | gzip -1 >"$WORK/base.cpio.gz"
}

ensure_base() {
  ensure_kernel
  local key
  key="$(base_inputs | sha256sum | cut -c1-16)"
  BASE="$CACHE/initramfs/base-$key.cpio.gz"
  BASE_LIST="$CACHE/initramfs/base-$key.list"
  if [[ -f "$BASE" && -f "$BASE_LIST" ]]; then touch "$BASE" "$BASE_LIST"; return 0; fi
  lock
  if [[ ! -f "$BASE" || ! -f "$BASE_LIST" ]]; then
    local t0=$SECONDS
    build_base
    mv "$WORK/base.list" "$BASE_LIST.tmp$$"; mv "$WORK/base.cpio.gz" "$BASE.tmp$$"
    mv "$BASE_LIST.tmp$$" "$BASE_LIST"; mv "$BASE.tmp$$" "$BASE"
    note "built base initramfs $(basename "$BASE") ($(($(stat -c %s "$BASE") / 1024)) KiB, $((SECONDS - t0)) s)"
    # keep the 4 most recently used bases
    ls -1t "$CACHE"/initramfs/base-*.cpio.gz 2>/dev/null | tail -n +5 | while IFS= read -r old; do
      rm -f "$old" "${old%.cpio.gz}.list"
    done
  fi
  unlock
}

case $action in
  fetch) lock; fetch_kernel; unlock; note "kernel cache: $(readlink -f "$CACHE/kernel/current")"; exit 0 ;;
  build) ensure_base; note "kernel: $VMLINUZ"; note "base initramfs: $BASE"; exit 0 ;;
esac

t_start=$(date +%s.%N)
ensure_base

# ---------------------------------------------------------------- per-run layer
nonce="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
cwd="$(pwd -P)"
L="$WORK/layer"
mkdir -p "$L/etc/hd-vm" "$L$(usrmerge "$cwd")"
q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
staged=()
for spec in "${files[@]}"; do
  host="${spec%%:*}"
  if [[ "$spec" == *:* ]]; then guest="${spec#*:}"; else guest=""; fi
  [[ -e "$host" ]] || die "--file $host: no such file or directory"
  [[ -n "$guest" ]] || guest="$(readlink -f "$host")"
  [[ "$guest" == /* ]] || guest="$cwd/$guest"
  if [[ -d "$host" ]]; then
    while IFS= read -r -d '' f; do
      rel="${f#"$host"}"
      stage_file "$f" "$guest/$rel" "$L"
      staged+=("$f")
    done < <(find -L "$host" -type f -print0)
  else
    stage_file "$host" "$guest" "$L"
    staged+=("$host")
  fi
done
((${#staged[@]})) && stage_libs_for "$L" "$BASE_LIST" "${staged[@]}"
{
  echo "HD_VM_NONCE=$nonce"
  echo "HD_VM_LOAD_MODULES=$load_modules"
  echo "HD_VM_INTERACTIVE=$interactive"
} >"$L/etc/hd-vm/run.conf"
{
  echo "export HD_VM=1"
  for e in "${envs[@]}"; do echo "export ${e%%=*}=$(q "${e#*=}")"; done
  echo "cd $(q "$cwd") 2>/dev/null || cd /"
  printf 'exec'; for a in "$@"; do printf ' %s' "$(q "$a")"; done; echo
} >"$L/etc/hd-vm/cmd"
INITRD="$WORK/initrd"
{ cat "$BASE"; mkcpio "$L" | gzip -1; } >"$INITRD"

# ---------------------------------------------------------------- boot
if ((interactive)); then
  [[ -t 0 ]] || die "--interactive needs a terminal on stdin"
  note "interactive: the VM's console is this terminal"
  set +e
  "$QEMU" -accel tcg -cpu max -m "$mem" -smp "$smp" \
    -nodefaults -no-user-config -display none -monitor none -no-reboot \
    -serial stdio -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "console=ttyS0 quiet panic=-1 mitigations=off${append}"
  exit $?
fi
LOG="$WORK/console.log"
: >"$LOG"
t_boot=$(date +%s.%N)
"$QEMU" \
  -accel tcg -cpu max -m "$mem" -smp "$smp" \
  -nodefaults -no-user-config -display none -monitor none -no-reboot \
  -serial "file:$LOG" \
  -kernel "$VMLINUZ" -initrd "$INITRD" \
  -append "console=ttyS0 quiet panic=-1 mitigations=off${append}" \
  </dev/null >"$WORK/qemu.out" 2>&1 &
qpid=$!
if [[ "$console" == 1 ]]; then
  tail -n +1 -f --pid="$qpid" "$LOG" >&2 &
  tailpid=$!
fi
# Watch qemu: note when the command starts (host-side boot time), enforce
# the timeout ourselves (so $qpid is qemu itself and cleanup can kill it).
t_begin="" timed_out=0
deadline=$((SECONDS + timeout_s))
while kill -0 "$qpid" 2>/dev/null; do
  if [[ -z "$t_begin" ]] && grep -qaF "@@HD_VM_BEGIN $nonce" "$LOG"; then t_begin=$(date +%s.%N); fi
  if ((SECONDS >= deadline)); then
    timed_out=1
    kill "$qpid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qpid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$qpid" 2>/dev/null || true
    break
  fi
  if [[ -z "$t_begin" ]]; then sleep 0.05; else sleep 0.1; fi
done
set +e
wait "$qpid"; qrc=$?
set -e
qpid=""
t_end=$(date +%s.%N)
if [[ -n "${tailpid:-}" ]]; then wait "$tailpid" 2>/dev/null || true; tailpid=""; fi

# ---------------------------------------------------------------- results
# Output is everything between the BEGIN and EXIT marker lines; the EXIT
# marker is preceded by one '\n' that the guest added, which we drop again.
begin_re="^@@HD_VM_BEGIN $nonce uptime=([0-9.]+)@@"
exit_re="^@@HD_VM_EXIT=([0-9]+) $nonce uptime=([0-9.]+)@@"
rc_line="$(grep -aE "$exit_re" "$LOG" | head -n1 || true)"
begin_line="$(grep -aE "$begin_re" "$LOG" | head -n1 || true)"
if [[ -n "$begin_line" ]]; then
  awk -v b="@@HD_VM_BEGIN $nonce " -v e="@@HD_VM_EXIT=" -v n=" $nonce " '
    !on { if (index($0, b) == 1) on = 1; next }
    index($0, e) == 1 && index($0, n) > 0 { done = 1; exit }
    { if (cnt++) printf "\n"; printf "%s", $0 }
    END { if (!done && cnt) printf "\n" }   # VM died mid-way: end the last line
  ' "$LOG"
fi
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
if [[ -n "$rc_line" ]]; then
  rc="$(sed -E "s/$exit_re.*/\1/" <<<"$rc_line")"
  up_end="$(sed -E "s/$exit_re.*/\2/" <<<"$rc_line")"
  up_begin="$(sed -E "s/$begin_re.*/\1/" <<<"$begin_line")"
  ((quiet)) || note "kernel $KVER: boot-to-command $(elapsed "$t_boot" "${t_begin:-$t_end}") s (guest uptime $up_begin s), command $(elapsed "$up_begin" "$up_end") s, qemu $(elapsed "$t_boot" "$t_end") s, total $(elapsed "$t_start" "$t_end") s, exit $rc"
  exit "$rc"
fi
if ((timed_out)); then
  note "timeout: killed the VM after ${timeout_s} s (--timeout)"
  [[ -n "$begin_line" ]] || { note "the command never started; console tail:"; tail -n 30 "$LOG" | tr -d '\r' >&2; }
  exit 124
fi
note "the VM stopped without reporting an exit status (qemu exit $qrc; kernel panic or crash?)"
[[ -s "$WORK/qemu.out" ]] && { note "qemu said:"; cat "$WORK/qemu.out" >&2; }
if [[ -n "$begin_line" ]]; then
  note "the command had started; its output (stdout, above) ends where the VM stopped"
else
  note "console tail:"; tail -n 40 "$LOG" | tr -d '\r' >&2
fi
exit 125
