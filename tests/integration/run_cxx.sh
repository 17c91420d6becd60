#!/usr/bin/env bash
# C++: template member functions, lambdas (through std::function) and exception handling
# appear with demangled names; -I adds inlined frames without losing the outer ones.
set -euo pipefail
. "$KILN_SOURCE_DIR/tests/integration/workloads/run_lib.bash"
require_perf

kiln_run "$T/out" -e "sCPU freq=499" -- "$W/run-work-cxx" 1.5
[ "$RUN_STATUS" = 0 ] || fail "status $RUN_STATUS"
dump "$T/out" >"$T/dump"
s=$(share 'kilntest::Accumulator<unsigned long>::churn\(int\)$' "$T/dump")
echo "Accumulator<unsigned long>::churn(int): $s%"
[ "${s%.*}" -ge 30 ] || fail "template member function not found demangled ($s%)"
s=$(share 'main::\{lambda\(\)#1\}::operator\(\)\(\) const;kilntest::Accumulator' "$T/dump")
echo "lambda -> churn: $s%"
[ "${s%.*}" -ge 30 ] || fail "lambda frame missing above churn ($s%)"
grep -q '_Z' "$T/dump" && fail "mangled names in the profile: $(grep -o '_Z[A-Za-z0-9_]*' "$T/dump" | head -3)"

kiln_run "$T/inl" -I -e "sCPU freq=499" -- "$W/run-work-cxx" 1
[ "$RUN_STATUS" = 0 ] || fail "-I: status $RUN_STATUS"
dump "$T/inl" >"$T/dump2"
s=$(share 'kilntest::Accumulator<unsigned long>::churn\(int\)$' "$T/dump2")
echo "-I: churn $s%"
[ "${s%.*}" -ge 30 ] || fail "-I lost the template frame ($s%)"
echo "PASS"
