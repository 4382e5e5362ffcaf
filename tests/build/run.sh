#!/usr/bin/env bash
# Build the collection tarball, install it into a temporary path (offline), and render every
# module's and role's documentation from that installed copy: proves the package is complete.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version=$(python -c 'import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$repo/galaxy.yml")
ansible-galaxy collection build "$repo" --output-path "$work/dist" --force
tarball="$work/dist/meshlab-canary-$version.tar.gz"
test -f "$tarball"

# Nothing that is not collection content may ship.
junk=$(tar -tzf "$tarball" | grep -E '(^|/)(\.venv|\.collections|\.git|tests|extensions|inventories|dist|\.cache|__pycache__)(/|$)|\.tar\.gz$' || true)
if [ -n "$junk" ]; then
  echo "build: tarball contains files that are not collection content:" >&2
  echo "$junk" >&2
  exit 1
fi

export ANSIBLE_COLLECTIONS_PATH="$work/installed"
ansible-galaxy collection install "$tarball" --offline -p "$work/installed" --force
# Do not let the working tree's ansible.cfg point back at the checkout.
printf '[defaults]\n' > "$work/ansible.cfg"
export ANSIBLE_CONFIG="$work/ansible.cfg"
installed="$work/installed/ansible_collections/meshlab/canary"

count=0
for f in "$installed"/plugins/modules/*.py; do
  [ "$(basename "$f")" = "__init__.py" ] && continue
  m=$(basename "$f" .py)
  echo "== ansible-doc -t module meshlab.canary.$m"
  out=$(ansible-doc -t module "meshlab.canary.$m")
  if ! grep -q "EXAMPLES" <<<"$out" || ! grep -q "RETURN VALUES" <<<"$out"; then
    echo "build: ansible-doc for meshlab.canary.$m lacks EXAMPLES or RETURN VALUES" >&2
    exit 1
  fi
  count=$((count + 1))
done
for d in "$installed"/roles/*/; do
  r=$(basename "$d")
  echo "== ansible-doc -t role meshlab.canary.$r"
  ansible-doc -t role "meshlab.canary.$r" >/dev/null
  count=$((count + 1))
done
filters=$(ansible-doc -t filter -l meshlab.canary --json | python -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin))))')
if [ -n "$filters" ]; then
  echo "== ansible-doc -t filter $filters"
  # shellcheck disable=SC2086 # word splitting intended: one argument per filter
  ansible-doc -t filter $filters >/dev/null
fi
[ "$count" -gt 0 ] || { echo "build: no modules or roles found in the installed collection" >&2; exit 1; }
echo "build: $(basename "$tarball") installs; documentation of $count modules/roles renders from the installed copy"
