#!/usr/bin/env bash
# The server package under a real systemd. This machine's PID 1 is not systemd, so a Debian 12
# is booted in a container (systemd-nspawn: systemd is the container's PID 1), from a root made
# once with debootstrap and kept in ~/.cache/chargeyard; each run boots a throwaway copy of it.
# Inside, the .deb is installed with apt as a user would, and its unit is checked:
# enabled and started by the install, serving the console and answering a charger with its data
# in /var/lib/chargeyard as the chargeyard user; killed, started again by systemd
# (Restart=on-failure) with what it stored; stopped by `systemctl stop` and started at the next
# boot. The container shares the host's network (loopback ports, the Debian mirror for apt).
# Called by `scripts/package --test` and `scripts/package --server --test`.
source "$(dirname "$0")/../../scripts/lib.sh"
deb="$(realpath "$1")"
fail() { echo "FAILED: $*" >&2; exit 1; }

apt_install systemd-container debootstrap curl
base="$HOME/.cache/chargeyard/debian12-systemd"
if [ ! -x "$base/usr/lib/systemd/systemd" ]; then
  say "a Debian 12 root with systemd for the container (debootstrap, once)"
  rm -rf "$base.new"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl,ca-certificates \
    bookworm "$base.new" http://deb.debian.org/debian >/dev/null
  mv "$base.new" "$base"
fi
[ -x "$CARGO_TARGET_DIR/debug/chargeyard-sim" ] || (cd "$ROOT" && cargo build -q -p chargeyard-sim)
SIM="$CARGO_TARGET_DIR/debug/chargeyard-sim"

# The container's root is a copy: the package and its settings go there before each boot.
machine="cytest-$$"
root=$(mktemp -d /var/tmp/chargeyard-systemd.XXXXXX)
leader=""
boot() {
  systemd-nspawn -D "$root" --boot --register=no --keep-unit --machine "$machine" \
    --console=passive >"$root.log" 2>&1 &
  nspawn=$!
  leader=""
  for _ in $(seq 1 100); do
    leader=$(pgrep -P "$nspawn" -x systemd || true)
    [ -n "$leader" ] && break
    sleep 0.1
  done
  [ -n "$leader" ] || { cat "$root.log"; fail "the container did not boot"; }
  # Until its manager answers on the bus and has finished starting (running, or degraded: a
  # unit of the base system that cannot start in a container is not ours to judge).
  for _ in $(seq 1 60); do
    state=$(inside systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in running | degraded) return ;; esac
    sleep 0.5
  done
  fail "the container's systemd did not finish starting (${state:-no answer})"
}
inside() { nsenter -t "$leader" -a "$@"; }
halt() {
  inside systemctl poweroff >/dev/null 2>&1 || true
  wait "$nspawn" 2>/dev/null || true
}
cleanup() { [ -n "$leader" ] && halt; rm -rf "$root" "$root.log"; }
trap cleanup EXIT
say "copying the root for a throwaway container"
cp -a "$base/." "$root/"

http=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ocpp=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'CHARGEYARD_ARGS="--http-listen 127.0.0.1:%s --ocpp-listen 127.0.0.1:%s --ocpp-tls-listen 127.0.0.1:0 --unknown-stations accept"\n' \
  "$http" "$ocpp" >"$root/etc/default/chargeyard"
# Not in /tmp: the container gets an empty one.
cp "$deb" "$root/root/chargeyard-server.deb"

say "booting Debian 12 with systemd in a container"
boot
say "apt install ./$(basename "$deb") inside it"
inside sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /root/chargeyard-server.deb' >/dev/null \
  || fail "the package does not install"

answers() {
  for _ in $(seq 1 ${2:-60}); do
    curl -fs "http://127.0.0.1:$http/api/info" 2>/dev/null | grep -q "$1" && return 0
    sleep 0.5
  done
  return 1
}
main_pid() { inside systemctl show -p MainPID --value chargeyard.service; }

say "the install enabled and started the unit"
[ "$(inside systemctl is-enabled chargeyard.service)" = enabled ] || fail "the unit is not enabled"
answers '"database":"/var/lib/chargeyard/chargeyard.db"' \
  || { inside journalctl -u chargeyard.service --no-pager | tail -20; fail "the service does not answer with its database in /var/lib/chargeyard"; }
[ "$(inside systemctl is-active chargeyard.service)" = active ] || fail "the unit is not active"
curl -fs "http://127.0.0.1:$http/" | grep -q '<title>Chargeyard' || fail "the console is not served"
out=$(timeout 8 "$SIM" --url "ws://127.0.0.1:$ocpp/ocpp" --id SYSTEMD-1 2>&1 || true)
echo "$out" | grep -q "BootNotification: Accepted" || { echo "$out"; fail "the service did not answer a charger"; }
pid=$(main_pid)
[ "$(inside stat -c %U "/proc/$pid")" = chargeyard ] || fail "the service does not run as the chargeyard user"
[ "$(inside stat -c %U /var/lib/chargeyard/chargeyard.db)" = chargeyard ] || fail "the database is not the service user's"

say "killed, it is started again (Restart=on-failure) with what it stored"
inside systemctl kill --kill-whom=main --signal=KILL chargeyard.service
for _ in $(seq 1 40); do
  now=$(main_pid)
  [ "$now" != 0 ] && [ "$now" != "$pid" ] && break
  sleep 0.5
done
[ "$now" != 0 ] && [ "$now" != "$pid" ] || fail "systemd did not start the service again after it was killed"
answers '"database"' || fail "the restarted service does not answer"
curl -fs "http://127.0.0.1:$http/api/stations" | grep -q 'SYSTEMD-1' || fail "the charger stored before the kill is gone"
[ "$(inside systemctl show -p NRestarts --value chargeyard.service)" -ge 1 ] || fail "systemd counted no restart"

say "systemctl stop stops it"
inside systemctl stop chargeyard.service
! curl -fs "http://127.0.0.1:$http/api/info" >/dev/null 2>&1 || fail "still answering after systemctl stop"

say "rebooted, it starts with the system"
halt
boot
answers '"database":"/var/lib/chargeyard/chargeyard.db"' || fail "the service did not start at boot"
curl -fs "http://127.0.0.1:$http/api/stations" | grep -q 'SYSTEMD-1' || fail "the charger is gone after the reboot"
say "the server package works under systemd: installed, enabled, restarted on failure, started at boot"
