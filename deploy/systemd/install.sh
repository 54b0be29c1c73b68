#!/bin/sh
# Installs vpnv4-agent on a node over ssh: binary, systemd unit, user, folders; enables it.
#
#   deploy/systemd/install.sh [-c vpnv4-agent.yaml] [-t tenants.yaml] [-b BINARY] [-n] root@NODE
#
#   -c FILE  configuration to install as /etc/vpnv4-agent/vpnv4-agent.yaml (default: keep the
#            node's; on a first install deploy/examples/vpnv4-agent.yaml is copied)
#   -t FILE  tenants file to install as /etc/vpnv4-agent/tenants.yaml (same rule)
#   -b FILE  binary (default: dist/vpnv4-agent-<node arch>-linux from `deno task compile`)
#   -n       install and enable, but do not start
#
# The node needs systemd, FRR (vtysh) and the kernel modules vrf, mpls_router, mpls_iptunnel.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
config="" tenants="" binary="" start=1
while getopts c:t:b:n opt; do
  case "$opt" in
    c) config=$OPTARG ;;
    t) tenants=$OPTARG ;;
    b) binary=$OPTARG ;;
    n) start=0 ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
node=$1

arch=$(ssh "$node" uname -m)
case "$arch" in
  x86_64 | aarch64) ;;
  arm64) arch=aarch64 ;;
  *) echo "install.sh: unsupported architecture $arch on $node" >&2; exit 1 ;;
esac
binary=${binary:-$repo/dist/vpnv4-agent-$arch-linux}
[ -f "$binary" ] || {
  echo "install.sh: $binary not found; build it with: deno task compile --target $arch" >&2
  exit 1
}

tmp=$(ssh "$node" mktemp -d /tmp/vpnv4-agent-install.XXXXXX)
trap 'ssh "$node" rm -rf "$tmp" >/dev/null 2>&1 || true' EXIT
scp -q "$binary" "$node:$tmp/vpnv4-agent"
scp -q "$here/vpnv4-agent.service" "$node:$tmp/vpnv4-agent.service"
scp -q "${config:-$repo/deploy/examples/vpnv4-agent.yaml}" "$node:$tmp/vpnv4-agent.yaml"
scp -q "${tenants:-$repo/deploy/examples/tenants.yaml}" "$node:$tmp/tenants.yaml"

# shellcheck disable=SC2087 # expand locally on purpose
ssh "$node" sh -eu <<REMOTE
tmp=$tmp
if ! getent passwd vpnv4-agent >/dev/null; then
  getent group vpnv4-agent >/dev/null || groupadd --system --gid 42494 vpnv4-agent
  useradd --system --uid 42494 --gid vpnv4-agent --home-dir /var/lib/vpnv4-agent \
    --no-create-home --shell /usr/sbin/nologin vpnv4-agent
fi
for g in frrvty openvswitch; do
  if getent group "\$g" >/dev/null; then usermod -a -G "\$g" vpnv4-agent; fi
done
install -m 0755 "\$tmp/vpnv4-agent" /usr/local/bin/vpnv4-agent
install -d -m 0750 -o root -g vpnv4-agent /etc/vpnv4-agent
install -d -m 0700 -o vpnv4-agent -g vpnv4-agent /var/lib/vpnv4-agent
install_conf() { # NAME REPLACE: keep the node's file unless REPLACE is 1
  if [ ! -e "/etc/vpnv4-agent/\$1" ] || [ "\$2" = 1 ]; then
    install -m 0640 -o root -g vpnv4-agent "\$tmp/\$1" "/etc/vpnv4-agent/\$1"
  fi
}
install_conf vpnv4-agent.yaml $( [ -n "$config" ] && echo 1 || echo 0 )
install_conf tenants.yaml $( [ -n "$tenants" ] && echo 1 || echo 0 )
install -m 0644 "\$tmp/vpnv4-agent.service" /etc/systemd/system/vpnv4-agent.service
systemd-analyze verify /etc/systemd/system/vpnv4-agent.service
/usr/local/bin/vpnv4-agent validate --config /etc/vpnv4-agent/vpnv4-agent.yaml >/dev/null
systemctl daemon-reload
systemctl enable vpnv4-agent.service
if [ $start = 1 ]; then systemctl restart vpnv4-agent.service; fi
systemctl --no-pager --lines=5 status vpnv4-agent.service || true
REMOTE
