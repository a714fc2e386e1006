# Sourced by the scripts here: make (or reuse) a virtualenv and install the local core together
# with every local plugin in ONE pip call, so that a plugin's dependency on `replicate` is met by
# this checkout and pip never fetches the official package of the same name from PyPI.
#
# The installs are editable, so code changes need no reinstall. pip runs only when something it
# installs has changed: the stamp in the virtualenv records the Python, the version and every
# pyproject.toml it last installed from (path and contents), and the extras it installed.
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
plugin_args=()
projects=(pyproject.toml replicate/_version.py)
for dir in plugins/*/; do
  if [ -f "$dir/pyproject.toml" ]; then
    plugin_args+=(-e "$dir")
    projects+=("$dir/pyproject.toml")
  fi
done
stamp_file="$VENV/.replicate-install-stamp"
# Each file's path as well as its contents: a plugin folder renamed is a new project to install.
projects_sum=$(
  {
    "$VENV/bin/python" -VV
    for project in "${projects[@]}"; do
      printf '%s\n' "$project"
      cat "$project"
    done
  } | cksum | cut -d' ' -f1
)
installed=$(cat "$stamp_file" 2>/dev/null || true)
# Up to date: the same projects, installed with the extras asked for (none asked: any will do).
if [ "$installed" != "$projects_sum ${EXTRAS:-}" ] && { [ -n "${EXTRAS:-}" ] || [ "${installed%% *}" != "$projects_sum" ]; }; then
  rm -f "$stamp_file"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".${EXTRAS:-}" "${plugin_args[@]}"
  echo "$projects_sum ${EXTRAS:-}" >"$stamp_file"
fi
