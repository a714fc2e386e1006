# Sourced by scripts/test.sh (or run on its own): make the official SDKs the conformance tests
# compare against, each in a virtualenv of its own beside the project's one, never as a dependency
# of this checkout (both distributions are named `replicate`):
#
#   .venv-anchors/v1   replicate==1.0.7
#   .venv-anchors/v2   replicate==2.0.0b4
#
# pip runs only when a venv is missing or its stamp (the Python and the pinned requirement) does
# not match; an up-to-date run prints nothing. ANCHORS_DIR overrides the folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
ANCHORS_DIR=${ANCHORS_DIR:-.venv-anchors}
for pair in "v1 replicate==1.0.7" "v2 replicate==2.0.0b4"; do
  name=${pair%% *}
  requirement=${pair#* }
  venv="$ANCHORS_DIR/$name"
  stamp_file="$venv/.anchor-stamp"
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  want="$("$venv/bin/python" -VV | tr '\n' ' ') $requirement"
  if [ "$(cat "$stamp_file" 2>/dev/null || true)" != "$want" ]; then
    rm -f "$stamp_file"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$requirement"
    echo "$want" >"$stamp_file"
  fi
done
