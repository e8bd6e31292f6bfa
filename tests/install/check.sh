#!/usr/bin/env bash
# Install the two packages the way a user would (apt install ./file.deb) and check them:
# the desktop app starts from its installed path under Xvfb, answers a charger and renders the
# console; the server package has its user, data folder and unit, and the unit's command line,
# run as the unit runs it, serves the console and answers a charger. Both are removed afterwards
# (the data folder stays, as on a real removal). The .rpm cannot be installed on Debian: what it
# holds and requires is read with rpm(8). Called by `scripts/package --test`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
desktop="$(realpath "$1")" server="$(realpath "$2")" rpm="$(realpath "$3")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chargeyard/target}"
say() { printf '\033[1;32m==>\033[0m %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

say "apt install ./$(basename "$desktop") ./$(basename "$server")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$desktop" "$server" >/dev/null
cleanup() { DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq chargeyard chargeyard-server >/dev/null 2>&1 || true; }
trap cleanup EXIT

# The simulator stands in for a charger (it is not packaged).
[ -x "$CARGO_TARGET_DIR/debug/chargeyard-sim" ] || (cd "$ROOT" && cargo build -q -p chargeyard-sim)
SIM="$CARGO_TARGET_DIR/debug/chargeyard-sim"

say "desktop .rpm: its files and what it requires"
command -v rpm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm >/dev/null
rpm -qlp "$rpm" 2>/dev/null | grep -qx /usr/bin/chargeyard || fail "the .rpm installs no /usr/bin/chargeyard"
rpm -qlp "$rpm" 2>/dev/null | grep -q '/usr/share/applications/.*\.desktop$' || fail "the .rpm has no menu entry"
rpm -qRp "$rpm" 2>/dev/null | grep -q webkit2gtk || fail "the .rpm does not require WebKitGTK"

say "desktop: the installed app under Xvfb"
app=$(dpkg -L chargeyard | grep -E '^/usr/bin/' | head -1)
[ -n "$app" ] || fail "the desktop package installs no program in /usr/bin"
dpkg -L chargeyard | grep -q '\.desktop$' || fail "no menu entry (.desktop file)"
APP="$app" SHOT="$CARGO_TARGET_DIR/installed-smoke.png" bash "$ROOT/tests/desktop/smoke.sh"

say "server: user, data folder, unit"
getent passwd chargeyard >/dev/null || fail "no chargeyard user"
[ "$(stat -c %U /var/lib/chargeyard)" = chargeyard ] || fail "/var/lib/chargeyard is not the chargeyard user's"
unit=/lib/systemd/system/chargeyard.service
[ -f "$unit" ] || fail "no unit at $unit"
grep -q '^Restart=on-failure' "$unit" || fail "the unit does not restart on failure"
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify "$unit" 2>&1 | grep -v -i 'network-online\|not executable' || true
fi
http=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ocpp=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ -d /run/systemd/system ]; then
  say "server: systemd runs here: the service as installed"
  printf 'CHARGEYARD_ARGS="--http-listen 127.0.0.1:%s --ocpp-listen 127.0.0.1:%s --ocpp-tls-listen 127.0.0.1:0 --unknown-stations accept"\n' "$http" "$ocpp" >/etc/default/chargeyard
  systemctl restart chargeyard.service
  pid=""
else
  # No systemd as PID 1 on this machine: run the unit's own command line as its user.
  say "server: no systemd here: the unit's ExecStart as User=chargeyard"
  CHARGEYARD_ARGS="--http-listen 127.0.0.1:$http --ocpp-listen 127.0.0.1:$ocpp --ocpp-tls-listen 127.0.0.1:0 --unknown-stations accept"
  cmd=$(sed -n 's/^ExecStart=//p' "$unit")
  cmd=${cmd//\$CHARGEYARD_ARGS/$CHARGEYARD_ARGS}
  # shellcheck disable=SC2086
  runuser -u chargeyard -- $cmd >/tmp/chargeyard-installed.log 2>&1 &
  pid=$!
fi
stop_server() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  else systemctl stop chargeyard.service || true; rm -f /etc/default/chargeyard; fi
}
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$http/api/info" >/dev/null && break; sleep 0.5; done
curl -fs "http://127.0.0.1:$http/api/info" | grep -q '"database":"/var/lib/chargeyard/chargeyard.db"' \
  || { stop_server; cat /tmp/chargeyard-installed.log 2>/dev/null; fail "the service does not answer with its database in /var/lib/chargeyard"; }
curl -fs "http://127.0.0.1:$http/" | grep -q '<title>Chargeyard' || { stop_server; fail "the console is not served"; }
out=$(timeout 8 "$SIM" --url "ws://127.0.0.1:$ocpp/ocpp" --id INSTALLED-1 2>&1 || true)
echo "$out" | grep -q "BootNotification: Accepted" || { stop_server; echo "$out"; fail "the service did not answer a charger"; }
curl -fs "http://127.0.0.1:$http/api/stations" | grep -q 'INSTALLED-1' || { stop_server; fail "the charger is not listed"; }
[ "$(stat -c %U /var/lib/chargeyard/chargeyard.db)" = chargeyard ] || { stop_server; fail "the database is not the service user's"; }
stop_server
say "installed packages work: desktop window and console, server console and charger"
