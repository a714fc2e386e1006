#!/usr/bin/env bash
# Set up and run every test: the core's (tests/) and each plugin's (plugins/*/tests), plus ruff and
# mypy (on replicate/, and on tests/typing/: snippets whose type errors are expected). Extra
# arguments go to pytest.
EXTRAS="[dev]" source "$(dirname "$0")/_venv.sh"
bash scripts/_anchors.sh  # the official SDKs tests/test_emulator_conformance.py compares against
"$VENV/bin/ruff" check replicate tests plugins benchmarks examples
"$VENV/bin/ruff" format --check replicate tests plugins benchmarks examples
"$VENV/bin/mypy"
"$VENV/bin/mypy" tests/typing  # the public API as a user's type checker sees it
set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no tests; that counts as a failure" >&2
  exit 1
fi
exit "$rc"
