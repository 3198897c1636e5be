#!/usr/bin/env bash
# What operators cost (issue 15): wall time of whole commands, median (min–max) of 7, alternating:
#   b  `ykt beneficiary list` with BEFORE's ykt (a build without accounts; default: none, skipped)
#   r  `ykt beneficiary list` logged in        w  `ykt whoami`
#   l  `ykt login` (one scrypt derivation)     s  a signed decision (operator grant/revoke)
#   benchmarks/operators.sh [BEFORE_YKT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ms() { local t0=$(date +%s%N); "$@" >/dev/null 2>&1; local t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
med() { sort -n | awk '{a[NR]=$1} END {printf "%d (%d–%d)", a[int((NR+1)/2)], a[1], a[NR]}'; }
w=$(mktemp -d)
B=${1:-}; A=$root/.build/release/ykt
(cd "$root" && swift build -c release --product ykt 2>&1 | tail -n 1) >&2
[ -n "$B" ] && YKT_OPERATOR=x $B init --township 450223101 --name 寨沙镇 --node $w/b >/dev/null
ykt=$A; . "$root/integration/operators.sh" $w
ykt_init $w/a admin 管理员 --township 450223101 --name 寨沙镇 >/dev/null
ykt_add_operator admin $w/a clerk 经办员 clerk
ykt_add_operator admin $w/a leader 领导 leader
S=$(ykt_session clerk $w/a); SA=$(ykt_session admin $w/a)
pw=$(op_password $w/a admin)
for i in 1 2 3 4 5 6 7; do
  [ -n "$B" ] && echo "b $(YKT_OPERATOR=x ms $B beneficiary list --node $w/b)"
  echo "r $(YKT_SESSION=$S ms $A beneficiary list --node $w/a)"
  echo "w $(YKT_SESSION=$S ms $A whoami --node $w/a)"
  echo "l $(YKT_SESSION=$w/l.sess ms bash -c "$A login --login admin --node $w/a --password-stdin < $pw")"
  if [ $((i % 2)) = 1 ]; then op=grant; else op=revoke; fi
  echo "s $(YKT_SESSION=$SA ms bash -c "$A operator $op --login leader --role auditor --node $w/a --password-stdin < $pw")"
done > $w/out
for k in b r w l s; do grep -q "^$k " $w/out || continue; printf "%s: " $k; grep "^$k " $w/out | cut -d' ' -f2 | med; echo; done
rm -rf $w
