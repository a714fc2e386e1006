# Sourced by the scripts here: make (or reuse) a virtualenv and install the local core together
# with every local plugin in ONE pip call, so that a plugin's dependency on `replicate` is met by
# this checkout and pip never fetches the official package of the same name from PyPI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"replicate needs Python 3.10 or newer; {sys.executable} is {sys.version.split()[0]}")
PY
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
plugin_args=()
for dir in plugins/*/; do
  [ -f "$dir/pyproject.toml" ] && plugin_args+=(-e "$dir")
done
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".${EXTRAS:-}" "${plugin_args[@]}"
