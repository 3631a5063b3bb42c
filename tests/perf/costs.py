#!/usr/bin/env python3
"""What 1,000 dossiers cost on AWS, excluding storage: counted calls x list prices.

    python3 tests/perf/costs.py [--counts calls.json] [--file-mib 2] [--files 3]
                                [--scanner guardduty|clamd|none]

The SDK calls per dossier come from the counted test
`aws_counts::one_typical_dossier_makes_these_calls` (it prints `calls per dossier: {json}`; pass
that JSON with --counts, else the figures recorded below are used). The flow: the case system
creates a dossier and asks one department, which opens the page twice, uploads three files and
confirms; the case system approves, fetches the files and closes the dossier.

What the test cannot count (requests that never pass through the SDK, Lambda durations, item
sizes, reminders fired by Scheduler) is an assumption, named and printed beside its figure.
Prices: eu-west-1 (Ireland), on-demand list prices, no free tier, as read in November 2026;
check https://aws.amazon.com/pricing before relying on them.
"""
import argparse, json, sys

# --- List prices, eu-west-1, USD ---------------------------------------------------------------
PRICES = {
    "dynamodb_wru": 0.7069 / 1e6,   # per write request unit (on-demand, Standard table class)
    "dynamodb_rru": 0.1414 / 1e6,   # per read request unit
    "s3_put": 0.005 / 1000,         # PUT, COPY, POST, LIST per request (S3 Standard)
    "s3_get": 0.0004 / 1000,        # GET, HEAD and others per request
    "ses_mail": 0.10 / 1000,        # per outbound message (SES v2, no attachments)
    "scheduler": 1.00 / 1e6,        # per schedule invocation (EventBridge Scheduler)
    "lambda_request": 0.20 / 1e6,   # per invocation
    "lambda_gb_s": 0.0000133334,    # per GB-second, arm64
    "guardduty_gb": 0.09,           # Malware Protection for S3, per GB scanned
    "guardduty_object": 0.215 / 1000,  # Malware Protection for S3, per object evaluated
    "logs_gb": 0.57,                # CloudWatch Logs ingestion (standard class), per GB
    "t4g_small_hour": 0.0184,       # EC2 t4g.small on-demand (Linux), per hour: a clamd host
}

# --- Counted: SDK calls of one typical dossier (aws_counts::one_typical_dossier_makes_these_calls)
RECORDED_COUNTS = None  # filled in from a run; see load_counts

# --- Assumed -----------------------------------------------------------------------------------
ASSUMED = {
    # Portal invocations of the flow: dossier PUT, request POST, 2 page views, 3 stagings,
    # confirm, approve, 3 download links, close.
    "portal_invocations": 13,
    # Reminders that fire per dossier (each: a Scheduler invocation, a reminder Lambda, a mail),
    # plus the destruction at the end of retention (a Scheduler invocation, a purge Lambda).
    "reminders_fired": 1,
    "destructions_fired": 1,
    # The notify Lambda (DynamoDB stream → mail, webhooks) runs at most once per write call.
    # Billed duration of one invocation, ms (a few DynamoDB/S3/SES round trips of ~10 ms each).
    "portal_ms": 60,
    "other_ms": 80,
    "memory_gb": 256 / 1024,        # template.yaml Globals: MemorySize 256
    # One in ten invocations starts cold; the init phase is billed (150 ms on arm64, measured
    # init here is ~10 ms, AWS adds its own sandbox time).
    "cold_share": 0.1,
    "init_ms": 150,
    # Item sizes: a read of the dossier partition reads 16 KB (4 RRU strongly consistent); a
    # GetItem reads one small item (1 RRU); a transaction writes 4 items of ≤ 1 KB (2 WRU each).
    "rru_per_query": 4,
    "rru_per_get": 1,
    "items_per_transaction": 4,
    # Bytes logged per invocation: our JSON lines plus Lambda's START/END/REPORT lines.
    "log_bytes_per_invocation": 1500,
    # A verdict (GuardDuty's, or clamd's) is recorded per file: one invocation of the verdict
    # or scan function and one transaction (the document, its event, the pending feed event).
    "verdict_items": 3,
    # clamd (MalwareScanner=clamd): the scan function streams each file from S3 to clamd in the
    # VPC; billed ms per file of the typical size (clamd reads a few MB in well under 100 ms).
    "clamd_ms_per_file": 150,
    # Its schedule runs every minute whatever the volume: fixed, per month.
    "scan_schedule_runs_per_month": 60 * 24 * 30,
    "scan_schedule_ms": 20,
}


def load_counts(path):
    if path:
        text = open(path).read()
        marker = "calls per dossier: "
        for line in text.splitlines():
            if marker in line:
                return json.loads(line.split(marker, 1)[1])
        return json.loads(text)
    if RECORDED_COUNTS is None:
        sys.exit("no --counts given and no recorded counts: run the counted test first")
    return RECORDED_COUNTS


def count(counts, prefix, ops):
    return sum(counts.get(f"{prefix}.{op}", 0) for op in ops)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", help="output of the counted test, or its JSON")
    parser.add_argument("--files", type=int, default=3, help="files per dossier")
    parser.add_argument("--file-mib", type=float, default=2.0, help="typical file size, MiB")
    parser.add_argument("--scanner", choices=["guardduty", "clamd", "none"], default="guardduty")
    args = parser.parse_args()
    c = load_counts(args.counts)
    a = ASSUMED
    p = PRICES

    queries = count(c, "DynamoDB", ["Query"])
    gets = count(c, "DynamoDB", ["GetItem", "BatchGetItem"])
    transactions = count(c, "DynamoDB", ["TransactWriteItems"])
    plain_writes = count(c, "DynamoDB", ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"])
    rru = queries * a["rru_per_query"] + gets * a["rru_per_get"]
    wru = transactions * a["items_per_transaction"] * 2 + plain_writes
    # Browsers PUT the files and the case system GETs them straight from S3 (not SDK calls).
    s3_put = count(c, "S3", ["PutObject", "CopyObject", "ListObjectsV2", "DeleteObjects",
                              "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"]) + args.files
    s3_get = count(c, "S3", ["GetObject", "HeadObject"]) + args.files
    s3_free = count(c, "S3", ["DeleteObject"])
    mails = count(c, "SESv2", ["SendEmail"]) + a["reminders_fired"]
    schedule_runs = a["reminders_fired"] + a["destructions_fired"]
    writes = transactions + plain_writes
    invocations = a["portal_invocations"] + writes + schedule_runs
    gb_s = a["memory_gb"] / 1000 * (
        a["portal_invocations"] * a["portal_ms"]
        + (writes + schedule_runs) * a["other_ms"]
        + invocations * a["cold_share"] * a["init_ms"])
    scanned_gb = args.files * args.file_mib / 1024 if args.scanner == "guardduty" else 0
    scanned_objects = args.files if args.scanner == "guardduty" else 0
    # Each scanned file's verdict: an invocation and a transaction; clamd also reads the file.
    verdicts = args.files if args.scanner != "none" else 0
    verdict_wru = verdicts * a["verdict_items"] * 2
    verdict_ms = a["clamd_ms_per_file"] if args.scanner == "clamd" else a["other_ms"]
    verdict_gb_s = a["memory_gb"] / 1000 * verdicts * verdict_ms
    clamd_gets = args.files if args.scanner == "clamd" else 0
    invocations += verdicts
    log_gb = invocations * a["log_bytes_per_invocation"] / 1e9

    rows = [
        ("DynamoDB reads", f"{queries} Query + {gets} GetItem = {rru} RRU", rru * p["dynamodb_rru"]),
        ("DynamoDB writes", f"{transactions} TransactWriteItems x {a['items_per_transaction']} items x 2 + {plain_writes} = {wru} WRU", wru * p["dynamodb_wru"]),
        ("S3 PUT/COPY/LIST", f"{s3_put} requests ({args.files} browser PUTs)", s3_put * p["s3_put"]),
        ("S3 GET/HEAD", f"{s3_get} requests ({args.files} downloads); {s3_free} DELETE free", s3_get * p["s3_get"]),
        ("SES", f"{mails} mails ({a['reminders_fired']} reminder)", mails * p["ses_mail"]),
        ("EventBridge Scheduler", f"{schedule_runs} schedule invocations", schedule_runs * p["scheduler"]),
        ("Lambda requests", f"{invocations} invocations", invocations * p["lambda_request"]),
        ("Lambda duration", f"{gb_s:.4f} GB-s", gb_s * p["lambda_gb_s"]),
        ("GuardDuty malware scan", f"{scanned_objects} objects, {scanned_gb * 1024:.1f} MiB", scanned_gb * p["guardduty_gb"] + scanned_objects * p["guardduty_object"]),
        ("scan verdicts", f"{verdicts} x (1 call, {verdict_ms} ms, {a['verdict_items']} items) + {clamd_gets} S3 GET ({args.scanner})",
         verdicts * p["lambda_request"] + verdict_gb_s * p["lambda_gb_s"] + verdict_wru * p["dynamodb_wru"] + clamd_gets * p["s3_get"]),
        ("CloudWatch Logs ingestion", f"{log_gb * 1e6:.1f} kB", log_gb * p["logs_gb"]),
    ]
    print("SDK calls per dossier (counted):", json.dumps(c, sort_keys=True))
    print("assumptions:", json.dumps(a, sort_keys=True))
    print()
    print(f"| {'per 1,000 dossiers':<26} | {'per dossier':<62} | {'USD':>8} |")
    print(f"|{'-' * 28}|{'-' * 64}|{'-' * 10}|")
    total = 0.0
    for what, basis, usd in rows:
        total += usd * 1000
        print(f"| {what:<26} | {basis:<62} | {usd * 1000:>8.3f} |")
    print(f"| {'total (storage excluded)':<26} | {'':<62} | {total:>8.3f} |")
    scanning = (rows[8][2] + rows[9][2]) * 1000
    print(f"\nscanner {args.scanner}: malware scanning {scanning:.3f} USD of it; "
          f"without scanning {total - scanning:.3f} USD per 1,000 dossiers (goal: <= 1)")
    if args.scanner == "clamd":
        host = p["t4g_small_hour"] * 24 * 30
        schedule = a["scan_schedule_runs_per_month"] * (
            p["lambda_request"] + a["memory_gb"] * a["scan_schedule_ms"] / 1000 * p["lambda_gb_s"])
        print(f"plus, per month whatever the volume: the clamd host (t4g.small on-demand, "
              f"{host:.2f} USD; or an existing scan server) and the scan schedule "
              f"({a['scan_schedule_runs_per_month']} invocations, {schedule:.3f} USD)")


if __name__ == "__main__":
    main()
