#!/usr/bin/env bash
# Every figure of issue 11's table, each beside its reference measured in the same run.
#
#   tests/perf/all.sh                 # builds what it needs; starts and stops the emulators
#   SKIP_BUILD=1 tests/perf/all.sh    # reuse the release build in $CARGO_TARGET_DIR (or target/)
#
# Timed figures vary with the machine and its load: nothing here is asserted. Counted figures
# come from the tests that assert them (printed with --nocapture).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
HELLO_DIR=${HELLO_DIR:-/tmp/hello-lambda}
RUNS=${RUNS:-21}
ROUNDS=${ROUNDS:-5}
COLD_START=${COLD_START:-$ROOT/../shared/tools/lambda-cold-start.py}
LOG=$(mktemp -d /tmp/perf-all.XXXXXX)
echo "logs in $LOG"

section() { printf '\n## %s\n\n' "$1"; }

# --- builds --------------------------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release --locked -p portal >"$LOG/build.log" 2>&1
fi
# A hello-world lambda_http function with the workspace's release profile: the reference, on
# tokio's default runtime (the issue's), and beside it one on a current-thread runtime, as the
# portal runs on Lambda.
build_hello() {
  local dir=$1 runtime=$2
  [ -x "$dir/target/release/hello-lambda" ] && return
  mkdir -p "$dir/src"
  # The workspace's lambda_http and tokio, so the difference is the portal's own.
  local lambda_http tokio
  lambda_http=$(grep -A1 '^name = "lambda_http"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
  tokio=$(grep -A1 '^name = "tokio"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
  cat >"$dir/Cargo.toml" <<EOF
[package]
name = "hello-lambda"
version = "0.1.0"
edition = "2024"

[dependencies]
lambda_http = { version = "=$lambda_http", default-features = false, features = ["apigw_rest", "apigw_http", "alb", "tracing"] }
tokio = { version = "=$tokio", features = ["macros", "rt-multi-thread"] }

[profile.release]
opt-level = "s"
lto = "thin"
codegen-units = 1
strip = true
panic = "abort"
EOF
  cat >"$dir/src/main.rs" <<EOF
use lambda_http::{Body, Error, Request, Response, run, service_fn};

async fn hello(_: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from("hello")))
}

$runtime
async fn main() -> Result<(), Error> {
    run(service_fn(hello)).await
}
EOF
  (cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build --release >"$LOG/hello-build.log" 2>&1)
}
build_hello "$HELLO_DIR" '#[tokio::main]'
build_hello "$HELLO_DIR-current-thread" '#[tokio::main(flavor = "current_thread")]'
PORTAL=$TARGET/release/portal
HELLO=$HELLO_DIR/target/release/hello-lambda
HELLO_CT=$HELLO_DIR-current-thread/target/release/hello-lambda

# --- emulators -----------------------------------------------------------------------------------
infra/emulators up >"$LOG/emulators.env"
set -a; eval "$(cat "$LOG/emulators.env")"; set +a
trap 'infra/emulators down "$PORTAAL_EMULATOR_STATE" >/dev/null 2>&1 || true' EXIT
export AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true

# --- cold start ----------------------------------------------------------------------------------
section "Lambda cold start: portal vs hello-world lambda_http (medians of $RUNS runs, $ROUNDS rounds, alternating)"
# As the stack deploys it with the staff console: a public URL and a sign-in provider configured.
for round in $(seq "$ROUNDS"); do
  for bin in "$HELLO" "$HELLO_CT" "$PORTAL"; do
    PORTAAL_PUBLIC_URL=https://portaal.example.nl PORTAAL_OIDC_ISSUER=https://login.example.nl \
      PORTAAL_OIDC_CLIENT_ID=portaal \
      python3 "$COLD_START" "$bin" events/portal-page.json --runs "$RUNS" | tail -1 >>"$LOG/cold.jsonl"
  done
done
python3 - "$LOG/cold.jsonl" "$HELLO" "$HELLO_CT" "$PORTAL" <<'EOF'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(binary, key):
    return statistics.median(r[key] for r in rows if r["summary"] == binary)
hello, hello_ct, portal = sys.argv[2], sys.argv[3], sys.argv[4]
print(f"| {'binary':<22} | {'init ms':>8} | {'first invoke ms':>15} | {'size MB':>8} |")
print(f"|{'-'*24}|{'-'*10}|{'-'*17}|{'-'*10}|")
for name, b in (("hello", hello), ("hello (current thread)", hello_ct), ("portal", portal)):
    print(f"| {name:<22} | {med(b, 'init_ms_median'):>8.2f} | {med(b, 'invoke_ms_median'):>15.2f} | {os.path.getsize(b)/1e6:>8.1f} |")
both = lambda b: med(b, 'init_ms_median') + med(b, 'invoke_ms_median')
for name, ref in (("hello", hello), ("hello (current thread)", hello_ct)):
    print(f"\ninit: portal / {name} = {med(portal, 'init_ms_median') / med(ref, 'init_ms_median'):.2f}x;"
          f" init + first invoke: {both(portal) / both(ref):.2f}x")
print("\n(the event's link is not one the portal made: it answers 404 without reading the store)")
EOF

# --- upload --------------------------------------------------------------------------------------
section "1 GiB upload to the local server vs openssl sha256 + cp + sync of the same file (one PUT)"
python3 tests/perf/upload.py --size-mib 1024 --binary "$PORTAL"

# --- confirm on S3 -------------------------------------------------------------------------------
section "Confirm of many files on S3 (emulators): calls per file and overlap (counted), time (flow bench)"
PORTAAL_BACKEND=aws cargo test --locked -p portaal-tests --test suite -- --nocapture \
  aws_counts::a_confirm_checks_and_copies_its_files_eight_at_a_time 2>&1 | tail -3
BENCH_BACKEND=aws cargo bench --locked -p portaal-tests --bench flow 2>/dev/null | grep -i -E '^\| (what|confirm|-)' || true

# --- scale ---------------------------------------------------------------------------------------
section "Reminder, close and destruction with 100 vs 10,000 dossiers stored (counted store calls)"
PORTAAL_BACKEND=embedded cargo test --locked -p portaal-tests --test suite -- --nocapture \
  scale:: 2>&1 | grep -E '^store calls per|test result'

# --- JSON view -----------------------------------------------------------------------------------
section "JSON view of a dossier with 500 vs 10 history events (embedded, then the emulators)"
BENCH_BACKEND=embedded cargo bench --locked -p portaal-tests --bench history 2>/dev/null | grep -E '^(\||dossiers)' || true
echo
BENCH_BACKEND=aws cargo bench --locked -p portaal-tests --bench history 2>/dev/null | grep -E '^(\||dossiers)' || true

# --- largest file --------------------------------------------------------------------------------
section "Largest file a department can send: limits, and 1 GiB in parts through the local server"
grep -n "pub const MAX_FILE_BYTES" core/src/casetype.rs | sed 's/^/core\/src\/casetype.rs:/'
grep -n -E "pub const (DEFAULT_PART_THRESHOLD|DEFAULT_PART_SIZE|PART_SIZE_RANGE)" core/src/service.rs | sed 's/^/core\/src\/service.rs:/'
echo "(PORTAAL_PART_THRESHOLD_BYTES and PORTAAL_PART_SIZE_BYTES override the defaults)"
echo
python3 tests/perf/upload.py --size-mib 1024 --binary "$PORTAL" --parts

# --- cost ----------------------------------------------------------------------------------------
section "AWS cost per 1,000 dossiers (counted calls x eu-west-1 list prices)"
PORTAAL_BACKEND=aws cargo test --locked -p portaal-tests --test suite -- --nocapture \
  aws_counts::one_typical_dossier_makes_these_calls >"$LOG/typical.txt" 2>&1
python3 tests/perf/costs.py --counts "$LOG/typical.txt" --scanner guardduty
python3 tests/perf/costs.py --counts "$LOG/typical.txt" --scanner clamd | tail -2
