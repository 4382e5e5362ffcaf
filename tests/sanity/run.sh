#!/usr/bin/env bash
# ansible-test sanity for meshlab.canary, offline and with zero ignore entries.
# ansible-test needs a real (not symlinked) ansible_collections/<ns>/<name> tree with its
# dependencies beside it, and a cached get-pip script (its download host is unreachable here).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-python}
pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

if compgen -G "$repo/tests/sanity/ignore-*.txt" >/dev/null; then
  echo "sanity: ignore files are not allowed: $(ls "$repo"/tests/sanity/ignore-*.txt)" >&2
  exit 1
fi

# Seed ansible-test's pip bootstrap cache with our ensurepip-based script for the pip
# version this ansible-test pins.
pip_version=$("$py" - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$repo/tests/sanity/get_pip_seed.py" "$cache"

# The shellcheck sanity test is silently skipped without the program: install it (CI runs as root).
if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  else
    echo "sanity: shellcheck is required (apt-get install shellcheck)" >&2
    exit 1
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/meshlab/canary"
mkdir -p "$dest" "$work/ansible_collections/kubernetes"
# Only what git tracks or would track (untracked, not ignored): what the collection really holds.
(cd "$repo" && git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf -) | tar -xf - -C "$dest"
kc=$("$py" -c 'import ansible_collections.kubernetes.core as m, os; print(list(m.__path__)[0])')
ln -s "$kc" "$work/ansible_collections/kubernetes/core"

cd "$dest"
git init -q && git add -A >/dev/null   # ansible-test sanity uses git to list files
log="$work/sanity.log"
set +e
ansible-test sanity --python "$pyver" --local --color no "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# Zero skips: a sanity test that did not run because something was missing is a failure.
if grep -E "WARNING: (Required program|Skipping)" "$log"; then
  echo "sanity: some sanity tests were skipped (see above)" >&2
  exit 1
fi
exit "$rc"
