#!/bin/sh
# The generated path-boundary test (tests/boundary.rs) with millions of cases, in release mode.
#
#   scripts/boundary-long-run.sh [CASES]     (default 2000000; BOUNDARY_SEED etc. pass through)
#
# Prints the number of cases and requests and the time taken; exits non-zero with the minimal
# failing case when a private file came back without a link for it.
set -eu
cd "$(dirname "$0")/.."
cases="${1:-${BOUNDARY_CASES:-2000000}}"
case "$cases" in
    '' | *[!0-9]*) echo "boundary-long-run: CASES must be a number, got '$cases'" >&2; exit 2 ;;
esac
cargo test --release --all-features --test boundary --no-run
start=$(date +%s)
status=0
BOUNDARY_CASES="$cases" cargo test --release --all-features --test boundary -- \
    --nocapture no_private_bytes_without_a_link_for_them || status=$?
end=$(date +%s)
echo "boundary long run: $cases cases in $((end - start)) s wall clock (exit $status)"
exit "$status"
