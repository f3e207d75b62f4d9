#!/usr/bin/env bash
# Instructions per operation, counted under valgrind (callgrind): a figure a noisy machine
# cannot move. Each operation runs at two iteration counts; the difference, divided by the
# difference of the counts, is one operation's cost without start-up. Reports what the crate
# adds to the primitive it wraps:
#   verify               layer.check of a valid link, minus the bare HMAC of its message
#   mint                 signer.link(..).to_target(), minus the bare HMAC
#   public_pass_through  a public request through the layer, minus the inner service alone
#   one_time             a one-time link through the layer (memory store), minus an ordinary one
#
#   scripts/instructions.sh            # print the figures
#   scripts/instructions.sh --check    # also fail if one exceeds benches/instructions.baseline by 10%
#   scripts/instructions.sh --write    # record the figures as the new baseline
#
# Needs valgrind (Debian: valgrind). Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 2; }
MODE=${1:-}
LOW=${LOW:-1000}
HIGH=${HIGH:-3000}
BASELINE=benches/instructions.baseline

cargo build --quiet --release --all-features --example instructions
BIN=target/release/examples/instructions

count() { # operation iterations -> instructions of the whole run
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_op() {
  local low high
  low=$(count "$1" "$LOW")
  high=$(count "$1" "$HIGH")
  echo $(( (high - low) / (HIGH - LOW) ))
}

declare -A ops
for op in bare_hmac verify mint inner_service public_pass_through ordinary_link one_time_link; do
  ops[$op]=$(per_op "$op")
done
declare -A added=(
  [verify]=$(( ops[verify] - ops[bare_hmac] ))
  [mint]=$(( ops[mint] - ops[bare_hmac] ))
  [public_pass_through]=$(( ops[public_pass_through] - ops[inner_service] ))
  [one_time]=$(( ops[one_time_link] - ops[ordinary_link] ))
)
echo "| operation | instructions | added to its primitive |"
echo "| --- | --- | --- |"
echo "| bare HMAC-SHA256 of the message | ${ops[bare_hmac]} | |"
echo "| verify a valid link | ${ops[verify]} | ${added[verify]} |"
echo "| mint a link | ${ops[mint]} | ${added[mint]} |"
echo "| inner service alone | ${ops[inner_service]} | |"
echo "| public pass-through | ${ops[public_pass_through]} | ${added[public_pass_through]} |"
echo "| ordinary link through the layer | ${ops[ordinary_link]} | |"
echo "| one-time link (memory store) | ${ops[one_time_link]} | ${added[one_time]} |"

case "$MODE" in
  --write)
    { echo "# Instructions the crate adds per operation (scripts/instructions.sh --write)."
      for name in verify mint public_pass_through one_time; do echo "$name ${added[$name]}"; done
    } > "$BASELINE"
    echo "wrote $BASELINE" ;;
  --check)
    failed=0
    while read -r name base; do
      [[ -z "$name" || "$name" == \#* ]] && continue
      now=${added[$name]}
      limit=$(( base + base / 10 ))
      if (( now > limit )); then
        echo "REGRESSION: $name adds $now instructions; the baseline is $base (limit $limit)" >&2
        failed=1
      fi
    done < "$BASELINE"
    exit $failed ;;
esac
