#!/usr/bin/env bash
# Checks that every crate the library depends on (for the features given, default: none)
# declares a rust-version no newer than the crate's own. Together with clippy's
# incompatible_msrv lint this stands in for a build with the oldest compiler, which cannot be
# installed on this project's machines.
#   scripts/check-msrv-deps.sh [FEATURES]
set -euo pipefail
cd "$(dirname "$0")/.."
features="${1:-}"
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
registries=("${CARGO_HOME:-$HOME/.cargo}"/registry/src/*)
version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }
bad=0
while read -r name version _; do
  [ "$name" = "tower-secure-link" ] && continue
  manifest=""
  for registry in "${registries[@]}"; do
    [ -f "$registry/$name-${version#v}/Cargo.toml" ] && manifest="$registry/$name-${version#v}/Cargo.toml"
  done
  [ -n "$manifest" ] || { echo "no manifest for $name ${version}"; bad=1; continue; }
  needs=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$manifest" | head -n 1)
  if [ -n "$needs" ] && ! version_le "$needs" "$msrv"; then
    echo "$name ${version} needs Rust $needs, newer than the crate's $msrv"
    bad=1
  fi
done < <(cargo tree -e normal --prefix none --no-dedupe --no-default-features --features "$features" | sort -u)
[ "$bad" = 0 ] && echo "every dependency builds on Rust $msrv (features: '${features}')"
exit "$bad"
