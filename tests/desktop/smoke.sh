#!/usr/bin/env bash
# The desktop window, for real: start the Tauri app under Xvfb, check its window appears, that a
# simulated charger reaches the engine inside it (BootNotification answered and stored), and that
# the window renders the console. Saves a screenshot to $CARGO_TARGET_DIR/desktop-smoke.png.
set -euo pipefail
: "${CARGO_TARGET_DIR:?set by scripts/test}"
# APP: another build of the app, e.g. the installed one (tests/install/check.sh).
APP="${APP:-$CARGO_TARGET_DIR/debug/chargeyard}"
SIM="$CARGO_TARGET_DIR/debug/chargeyard-sim"
SHOT="${SHOT:-$CARGO_TARGET_DIR/desktop-smoke.png}"
for b in "$APP" "$SIM"; do [ -x "$b" ] || { echo "missing $b: run cargo build --workspace --bins" >&2; exit 1; }; done

data=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export APP SIM SHOT data port
export CHARGEYARD_DATA_DIR="$data" CHARGEYARD_OCPP_LISTEN="127.0.0.1:$port" CHARGEYARD_OCPP_TLS_LISTEN="127.0.0.1:0" NO_AT_BRIDGE=1 RUST_LOG=warn

# D-Bus and WebKit chatter goes to a log that is shown only when something fails.
# The window is looked for among the children of the root window only (with no window manager,
# top-level windows are there): walking the whole tree fails whenever a window goes away during
# the walk, and WebKit makes and drops windows while it starts.
if ! xvfb-run -a -s "-screen 0 1280x860x24" dbus-run-session -- bash -c '
  set -euo pipefail
  "$APP" >"$data/app.log" 2>&1 &
  app=$!
  trap "kill $app 2>/dev/null || true" EXIT
  up=no
  for _ in $(seq 1 180); do
    if xwininfo -root -children 2>/dev/null | grep -q "\"Chargeyard\""; then up=yes; break; fi
    kill -0 $app 2>/dev/null || { echo "the app exited:"; cat "$data/app.log"; exit 1; }
    sleep 0.5
  done
  if [ "$up" != yes ]; then
    echo "no Chargeyard window appeared in 90 s; the windows there:"
    xwininfo -root -children 2>&1 || true
    ps -o pid,stat,etime,rss,args -p $app || true
    cat "$data/app.log"
    exit 1
  fi
  echo "window: up"
  # The engine opens its database and binds its port while the window comes up: wait for it.
  python3 - "$port" <<PY || { echo "the engine never listened on port $port"; cat "$data/app.log"; exit 1; }
import socket, sys, time
deadline = time.time() + 30
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
  # A charger meets the engine running inside the window process. Unknown stations wait as
  # Pending by default, which is exactly what it must be told.
  out=$(timeout 8 "$SIM" --url "ws://127.0.0.1:$port/ocpp" --id SMOKE-1 2>&1 || true)
  echo "$out" | grep -q "BootNotification: Pending" || { echo "the simulator was not answered:"; echo "$out"; cat "$data/app.log"; exit 1; }
  echo "engine: answered BootNotification (Pending)"
  python3 - "$data/chargeyard.db" <<PY
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute("SELECT registration, vendor FROM stations WHERE id = ?", ("SMOKE-1",)).fetchone()
assert row == ("pending", "Chargeyard"), row
print("database: station stored as", row)
PY
  sleep 2
  import -window root "$SHOT"
  colours=$(convert "$SHOT" -format %k info:)
  # A blank or unrendered window has a handful of colours; the console has text and pills.
  [ "$colours" -gt 50 ] || { echo "the window looks blank ($colours colours)"; exit 1; }
  echo "screenshot: $SHOT ($colours colours)"

  # Started at login (the autostart entry passes --minimized): the central system answers while
  # the window stays unmapped, waiting in the tray.
  kill $app; wait $app 2>/dev/null || true
  "$APP" --minimized >>"$data/app.log" 2>&1 &
  app=$!
  out=""
  for _ in $(seq 1 60); do
    out=$(timeout 8 "$SIM" --url "ws://127.0.0.1:$port/ocpp" --id SMOKE-2 2>&1 || true)
    echo "$out" | grep -q "BootNotification: Pending" && break
    kill -0 $app 2>/dev/null || { echo "the minimised app exited:"; cat "$data/app.log"; exit 1; }
    sleep 0.5
  done
  echo "$out" | grep -q "BootNotification: Pending" || { echo "the minimised app never answered:"; echo "$out"; exit 1; }
  sleep 1
  state=$(xwininfo -name Chargeyard 2>&1 | sed -n "s/.*Map State: //p")
  [ "$state" != IsViewable ] || { echo "started with --minimized, the window is shown"; exit 1; }
  echo "minimised start: the engine answers, the window is not shown (${state:-no window})"
' 2>"$data/session.log"; then
  echo "--- session log ---"; tail -50 "$data/session.log"
  exit 1
fi
rm -rf "$data"
