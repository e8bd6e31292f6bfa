# Shared by scripts/run and scripts/test: install what Chargeyard needs, idempotently.
# Sourced, not run. Everything comes from Debian's packages, crates.io and the npm registry.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One shared build directory outside the clone, so fresh clones reuse earlier builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chargeyard/target}"
mkdir -p "$CARGO_TARGET_DIR"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1;32m==>\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# apt_install PKG...: install the Debian packages that are missing (no-op when all are there).
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Rust 1.95 or newer (edition 2024). Debian 12's cargo is too old; rustup provides it.
ensure_rust() {
  local want=95
  if command -v cargo >/dev/null 2>&1; then
    local minor
    minor=$(cargo --version | sed -E 's/cargo 1\.([0-9]+).*/\1/')
    if [ "${minor:-0}" -ge "$want" ]; then return; fi
    if command -v rustup >/dev/null 2>&1; then
      say "updating Rust with rustup"
      rustup toolchain install stable --profile minimal >/dev/null && rustup default stable >/dev/null
      return
    fi
  fi
  apt_install curl ca-certificates build-essential
  say "installing Rust with rustup"
  if ! curl -fsSL https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy >/dev/null; then
    echo "Rust 1.$want+ is required and could not be installed automatically; install it with rustup." >&2
    exit 1
  fi
}

# Node.js 20.19+ (Vite 8). Debian 12's nodejs is 18; a newer one comes from the npm registry.
ensure_node() {
  if ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
  fi
  local major minor
  major=$(node -p 'process.versions.node.split(".")[0]')
  minor=$(node -p 'process.versions.node.split(".")[1]')
  if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
    say "installing Node.js 22 from the npm registry (found $(node --version))"
    npm install -g --no-audit --no-fund node@22 >/dev/null
    hash -r
  fi
}

# The UI's npm packages (exactly as locked) and its production build in ui/dist.
build_ui() {
  ensure_node
  cd "$ROOT/ui"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing UI packages"
    npm ci --no-audit --no-fund >/dev/null
  fi
  say "building the UI"
  npx vite build --logLevel warn
  cd "$ROOT"
}

# What building and testing the desktop shell needs (WebKitGTK, a virtual display).
DESKTOP_PACKAGES=(build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev libayatana-appindicator3-dev
  librsvg2-dev libxdo-dev xvfb xauth dbus dbus-x11 x11-utils imagemagick webkit2gtk-driver)

# tauri-driver: the WebDriver front for the real window (2.x is the line that matches Tauri 2).
# cargo-fuzz, for the fuzz targets under fuzz/ (libFuzzer on the stable toolchain: --sanitizer none).
ensure_cargo_fuzz() {
  cargo install --list | grep -q '^cargo-fuzz v0\.13\.2' && return
  say "installing cargo-fuzz 0.13.2 from crates.io"
  cargo install cargo-fuzz --version 0.13.2 --locked --quiet
}

# A Python with the PyPI ocpp library (mobilityhouse, pinned) for the test with a charging
# station that is not ours (tests/interop/): a virtualenv in the build cache, from Debian's python3.
ensure_python_ocpp() {
  apt_install python3-venv
  local venv="$HOME/.cache/chargeyard/pyenv"
  if ! "$venv/bin/python" -c 'import ocpp, websockets' >/dev/null 2>&1; then
    say "installing the PyPI ocpp library into $venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q ocpp==2.1.0 websockets==15.0.1
  fi
  export CHARGEYARD_PYTHON="$venv/bin/python"
}

ensure_tauri_driver() {
  cargo install --list | grep -q '^tauri-driver v2\.1\.0' && return
  say "installing tauri-driver 2.1.0 from crates.io"
  cargo install tauri-driver --version 2.1.0 --locked --quiet
}
