# Shared set-up for scripts/run and scripts/test: install what is missing, then the Python package.
# Sourced, not run. Debian: system packages come from apt (with sudo when not root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HERITAGE_MAP_VENV:-$ROOT/.venv}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $* (install sudo or run as root)" >&2; return 1; fi
}

missing_debs() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || printf '%s ' "$pkg"
  done
}

apt_install() {
  local todo
  todo="$(missing_debs "$@")"
  [ -z "$todo" ] && return 0
  say "installing Debian packages: $todo"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $todo >/dev/null
}

install_system() {
  # PostgreSQL server, PostGIS for its newest installed major version, venv support; extra packages as args.
  apt_install postgresql python3-venv "$@"
  local major
  major="$(ls /usr/lib/postgresql | sort -n | tail -n 1)"
  apt_install "postgresql-$major-postgis-3"
}

install_python() {
  # $1: the extras to install, e.g. "[test]" or "".
  local py="${PYTHON:-python3}"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "Python 3.11 or newer is needed (found: $("$py" --version 2>&1))" >&2; return 1; }
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$py" -m venv "$VENV"; }
  # Installed once per set of extras and again only when pyproject.toml changes, so a set-up machine runs offline.
  local stamp="$VENV/.heritage-map-installed$1"
  if ! { [ -x "$VENV/bin/heritage-map" ] && [ "$stamp" -nt "$ROOT/pyproject.toml" ]; }; then
    say "installing the heritage_map package${1:+ with $1}"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT$1"
    touch "$stamp" "$VENV/.heritage-map-installed"  # the package with extras is the package too
  fi
  compile_catalogues
}

compile_catalogues() {
  # The interface's translations: git keeps the .po files, gettext reads .mo files (the app also recompiles a
  # stale one as it starts; a wheel is built with them, see setup.py).
  "$VENV/bin/python" -c 'from heritage_map import catalogues, i18n; catalogues.compile_stale(i18n.TRANSLATIONS_DIR)'
}
