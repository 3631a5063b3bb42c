#!/usr/bin/env python3
"""Proves the local emulators behave the way Portaal's AWS adapters and tests rely on.

    eval "$(infra/emulators up)"
    python3 infra/emulators-selftest.py      # exit status 0 = everything as expected
    infra/emulators down

Checks: DynamoDB (table as in template.yaml, items, conditions, transactions, an index), S3 on
s3s-fs (SigV4 presigned PUT with signed content-length/content-type/x-amz-checksum-sha256: right
body accepted, other size / other type / tampered signature / expired refused; presigned GET;
HeadObject returns ChecksumSHA256), SES v2 mail visible at /portaal-test/sent-mail, Scheduler one-time
schedules in the group.

"FINDING" lines document emulator behaviour the adapters must know about; they are asserted too,
so a different s3s-fs or moto version that changes them makes this script fail loudly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENV = os.environ
REQUIRED = [
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "PORTAAL_TABLE", "PORTAAL_BUCKET",
    "PORTAAL_MAIL_FROM", "PORTAAL_SCHEDULE_GROUP", "PORTAAL_MOTO_URL", "PORTAAL_REMINDER_ARN",
    "PORTAAL_SCHEDULER_ROLE_ARN",
]
missing = [k for k in REQUIRED if not ENV.get(k)]
if missing:
    sys.exit(f"selftest: missing {missing}; run: eval \"$(infra/emulators up)\"")

TABLE, BUCKET = ENV["PORTAAL_TABLE"], ENV["PORTAAL_BUCKET"]
MOTO = ENV["PORTAAL_MOTO_URL"]
failures: list[str] = []
# Unique per run, so the self-test can run repeatedly against the same emulators.
CASE = f"Z-{time.time_ns()}"


def check(name: str, fn: Callable[[], object]) -> None:
    try:
        detail = fn()
        print(f"PASS {name}" + (f": {detail}" if detail else ""), file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - report every failure, keep going
        failures.append(name)
        print(f"FAIL {name}: {type(e).__name__}: {e}", file=sys.stderr)


def finding(text: str) -> None:
    print(f"FINDING {text}", file=sys.stderr)


def expect(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


# Clients take endpoints, region and keys from the exported environment only.
ddb = boto3.client("dynamodb")
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
sesv2 = boto3.client("sesv2")
scheduler = boto3.client("scheduler")


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def error_code(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    start = text.find("<Code>")
    return text[start + 6 : text.find("</Code>")] if start >= 0 else text[:80]


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def exists(key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
        return True
    except ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise


# --- DynamoDB ------------------------------------------------------------------------------------


def dynamodb_table() -> str:
    t = ddb.describe_table(TableName=TABLE)["Table"]
    keys = [(k["AttributeName"], k["KeyType"]) for k in t["KeySchema"]]
    expect(keys == [("pk", "HASH"), ("sk", "RANGE")], f"key schema {keys}")
    idx = sorted(g["IndexName"] for g in t.get("GlobalSecondaryIndexes", []))
    expect(idx == ["gsi1", "gsi2", "gsi3"], f"indexes {idx}")
    expect(t["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES", "stream")
    ttl = ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    expect(ttl.get("AttributeName") == "expires_at" and ttl["TimeToLiveStatus"] == "ENABLED", f"ttl {ttl}")
    return f"keys {keys}, indexes {idx}, ttl expires_at, stream {t.get('LatestStreamArn', '')[-40:]}"


def dynamodb_items() -> str:
    item = {
        "pk": {"S": f"DOSSIER#{CASE}"}, "sk": {"S": "REQUEST#01J"}, "due": {"S": "2030-01-02"},
        "gsi1pk": {"S": "OPEN"}, "gsi1sk": {"S": f"2030-01-02#{CASE}#01J"},
    }
    ddb.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(pk)")
    got = ddb.get_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True)["Item"]
    expect(got == item, f"get_item returned {got}")
    try:
        ddb.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(pk)")
        raise AssertionError("conditional put on an existing item succeeded")
    except ClientError as e:
        expect(e.response["Error"]["Code"] == "ConditionalCheckFailedException", str(e))
    q = ddb.query(
        TableName=TABLE, IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :p AND gsi1sk < :d",
        ExpressionAttributeValues={":p": {"S": "OPEN"}, ":d": {"S": "2031"}},
    )["Items"]
    q = [i for i in q if i["pk"] == item["pk"]]
    expect(len(q) == 1 and q[0]["sk"]["S"] == "REQUEST#01J", f"gsi1 query {q}")
    # All-or-nothing: one failing condition cancels the whole transaction.
    try:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"DOSSIER#{CASE}"}, "sk": {"S": "EVENT#1"}}}},
            {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": item["pk"], "sk": item["sk"]},
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
        raise AssertionError("transaction with a failing condition succeeded")
    except ClientError as e:
        expect(e.response["Error"]["Code"] == "TransactionCanceledException", str(e))
    gone = ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"DOSSIER#{CASE}"}, "sk": {"S": "EVENT#1"}})
    expect("Item" not in gone, "cancelled transaction left an item")
    return "put/get, conditional put refused, gsi1 query, cancelled transaction wrote nothing"


# --- S3 on s3s-fs ----------------------------------------------------------------------------------

BODY = b"%PDF-1.7\nportaal selftest document\n"
SHA = b64sha256(BODY)


def presign_put(key: str, length: int, content_type: str, sha: str | None, expires: int = 300) -> str:
    params = {"Bucket": BUCKET, "Key": key, "ContentLength": length, "ContentType": content_type}
    if sha:
        params["ChecksumSHA256"] = sha
    url = s3.generate_presigned_url("put_object", Params=params, ExpiresIn=expires)
    expect("X-Amz-Signature=" in url and "content-length" in url, f"not a SigV4 URL signing content-length: {url}")
    return url


def s3_path_style() -> str:
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "x"})
    expect(url.startswith(ENV["AWS_ENDPOINT_URL_S3"] + "/" + BUCKET + "/"), f"not path-style: {url}")
    return "an IP endpoint makes boto3 use path-style URLs without configuration"


def s3_presigned_put_ok() -> str:
    key = f"staged/{CASE}/ok.pdf"
    url = presign_put(key, len(BODY), "application/pdf", SHA)
    status, body = http("PUT", url, BODY, {"Content-Type": "application/pdf", "x-amz-checksum-sha256": SHA})
    expect(status == 200, f"status {status} {body[:200]!r}")
    got = s3.get_object(Bucket=BUCKET, Key=key)
    expect(got["Body"].read() == BODY, "stored bytes differ")
    expect(got["ContentType"] == "application/pdf", f"content type {got['ContentType']}")
    return "200, bytes and content type stored"


def s3_presigned_put_refused() -> str:
    results = []
    cases = [
        # (name, body, headers, url-mutator, expected status, expected code)
        ("larger body", BODY + b"x", {"Content-Type": "application/pdf"}, None, 403, "SignatureDoesNotMatch"),
        ("smaller body", BODY[:-1], {"Content-Type": "application/pdf"}, None, 403, "SignatureDoesNotMatch"),
        ("other content type", BODY, {"Content-Type": "text/html"}, None, 403, "SignatureDoesNotMatch"),
        ("tampered signature", BODY, {"Content-Type": "application/pdf"},
         lambda u: u[:-1] + ("0" if u[-1] != "0" else "1"), 403, "SignatureDoesNotMatch"),
    ]
    for i, (name, body, headers, mutate, want_status, want_code) in enumerate(cases):
        key = f"staged/{CASE}/refused-{i}.pdf"
        url = presign_put(key, len(BODY), "application/pdf", None)
        if mutate:
            url = mutate(url)
        status, resp = http("PUT", url, body, headers)
        code = error_code(resp)
        expect((status, code) == (want_status, want_code), f"{name}: {status} {code}")
        expect(not exists(key), f"{name}: object was stored anyway")
        results.append(f"{name} {status}")
    key = f"staged/{CASE}/expired.pdf"
    url = presign_put(key, len(BODY), "application/pdf", None, expires=1)
    time.sleep(2.2)
    status, resp = http("PUT", url, BODY, {"Content-Type": "application/pdf"})
    expect(status == 403, f"expired: {status} {error_code(resp)}")
    results.append(f"expired {status}")
    bad = boto3.client("s3", config=Config(signature_version="s3v4"), aws_secret_access_key="wrong-secret",
                       aws_access_key_id=ENV.get("AWS_ACCESS_KEY_ID"))
    try:
        bad.put_object(Bucket=BUCKET, Key=f"staged/{CASE}/wrong-key.pdf", Body=BODY)
        raise AssertionError("put with a wrong secret key succeeded")
    except ClientError as e:
        expect(e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, str(e))
    results.append("wrong secret 403")
    return ", ".join(results) + " (nothing stored)"


def s3_presigned_get() -> str:
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": f"staged/{CASE}/ok.pdf"}, ExpiresIn=60)
    status, body = http("GET", url)
    expect(status == 200 and body == BODY, f"{status}")
    status, _ = http("GET", url[:-1] + ("0" if url[-1] != "0" else "1"))
    expect(status == 403, f"tampered GET {status}")
    return "200 with the bytes; tampered 403"


def s3_checksum() -> str:
    # HeadObject returns the SHA-256 given at upload (with or without ChecksumMode).
    h = s3.head_object(Bucket=BUCKET, Key=f"staged/{CASE}/ok.pdf", ChecksumMode="ENABLED")
    expect(h.get("ChecksumSHA256") == SHA, f"HeadObject ChecksumSHA256 {h.get('ChecksumSHA256')} != {SHA}")
    finding(f"HeadObject(ChecksumMode=ENABLED) returns ChecksumSHA256={SHA} for an upload sent with x-amz-checksum-sha256")

    # Wrong checksum: refused with 400 BadDigest...
    other = b"%PDF-1.7\nanother document, same size\n"[: len(BODY)].ljust(len(BODY), b"!")
    key = f"staged/{CASE}/bad-digest.pdf"
    url = presign_put(key, len(BODY), "application/pdf", SHA)
    status, resp = http("PUT", url, other, {"Content-Type": "application/pdf", "x-amz-checksum-sha256": SHA})
    expect((status, error_code(resp)) == (400, "BadDigest"), f"wrong checksum: {status} {error_code(resp)}")
    finding("a PUT whose bytes do not match its signed x-amz-checksum-sha256 is refused: 400 BadDigest")
    # ...but s3s-fs 0.14.1 writes the file before comparing, so the bytes stay, with no checksum.
    left = exists(key)
    h = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED") if left else {}
    expect(left and "ChecksumSHA256" not in h, f"expected leftover object without checksum, got left={left} {h.get('ChecksumSHA256')}")
    finding("unlike S3, s3s-fs 0.14.1 keeps the refused bytes under the key; HeadObject then has NO ChecksumSHA256")

    # Worse: re-using a valid URL with other bytes of the same size replaces the bytes, while
    # HeadObject keeps reporting the first upload's (correct) checksum.
    key = f"staged/{CASE}/overwrite.pdf"
    url = presign_put(key, len(BODY), "application/pdf", SHA)
    headers = {"Content-Type": "application/pdf", "x-amz-checksum-sha256": SHA}
    expect(http("PUT", url, BODY, headers)[0] == 200, "first upload")
    status, resp = http("PUT", url, other, headers)
    expect((status, error_code(resp)) == (400, "BadDigest"), f"overwrite: {status}")
    h = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    raw = urllib.request.urlopen(
        s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=60)
    ).read()
    expect(h.get("ChecksumSHA256") == SHA and raw == other, "overwrite behaviour changed")
    finding("unlike S3, after a refused overwrite s3s-fs 0.14.1 serves the NEW bytes but HeadObject still "
            "reports the OLD ChecksumSHA256 (GetObject with checksum validation then fails)")

    # A wrong x-amz-checksum-sha256 that was not part of the signature is verified as well.
    key = f"staged/{CASE}/unsigned-checksum.pdf"
    url = presign_put(key, len(BODY), "application/pdf", None)
    status, resp = http("PUT", url, BODY, {"Content-Type": "application/pdf", "x-amz-checksum-sha256": b64sha256(b"x")})
    expect((status, error_code(resp)) == (400, "BadDigest"), f"unsigned checksum header: {status}")
    finding("an unsigned x-amz-checksum-sha256 header is verified too (400 BadDigest)")
    return "see FINDING lines"


# --- SES v2 (moto) --------------------------------------------------------------------------------


def sent_mail() -> dict:
    with urllib.request.urlopen(f"{MOTO}/portaal-test/sent-mail", timeout=10) as r:
        return json.load(r)


def ses_send() -> str:
    subject = f"Verzoek om stukken {time.time_ns()}"
    mid = sesv2.send_email(
        FromEmailAddress=ENV["PORTAAL_MAIL_FROM"],
        Destination={"ToAddresses": ["afdeling@example.nl"]},
        Content={"Simple": {"Subject": {"Data": subject, "Charset": "UTF-8"},
                            "Body": {"Text": {"Data": "Tekst", "Charset": "UTF-8"},
                                     "Html": {"Data": "<p>Tekst</p>", "Charset": "UTF-8"}}}},
    )["MessageId"]
    msgs = sent_mail()["Message"]
    sent = [m for m in msgs if m["id"] == mid]
    expect(len(sent) == 1, f"message {mid} not in sent-mail Message")
    m = sent[0]
    expect(m["subject"] == subject and m["source"] == ENV["PORTAAL_MAIL_FROM"], f"{m}")
    expect(m["destinations"]["ToAddresses"] == ["afdeling@example.nl"], f"{m}")
    expect(m["body"] == "<p>Tekst</p>", f"body {m['body']!r} (moto keeps the Html part when present)")
    raw = (f"From: {ENV['PORTAAL_MAIL_FROM']}\r\nTo: raw@example.nl\r\nSubject: raw\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nraw body\r\n").encode()
    rid = sesv2.send_email(FromEmailAddress=ENV["PORTAAL_MAIL_FROM"],
                           Destination={"ToAddresses": ["raw@example.nl"]},
                           Content={"Raw": {"Data": raw}})["MessageId"]
    rm = [m for m in sent_mail()["RawMessage"] if m["id"] == rid]
    expect(len(rm) == 1 and "raw body" in rm[0]["raw_data"], "raw message not in sent-mail RawMessage")
    try:
        sesv2.send_email(FromEmailAddress="nobody@elsewhere.example",
                         Destination={"ToAddresses": ["a@example.nl"]},
                         Content={"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}}})
        raise AssertionError("unverified sender accepted")
    except ClientError as e:
        expect(e.response["Error"]["Code"] == "MessageRejected", str(e))
    return ('sent-mail["Message"][] {id, source, destinations.ToAddresses, subject, body}; '
            'Raw in ["RawMessage"][]; unverified sender MessageRejected')


# --- Scheduler (moto) -----------------------------------------------------------------------------


def scheduler_schedule() -> str:
    group = ENV["PORTAAL_SCHEDULE_GROUP"]
    name = f"reminder-{CASE}-01J-step0"
    target = {"Arn": ENV["PORTAAL_REMINDER_ARN"], "RoleArn": ENV["PORTAAL_SCHEDULER_ROLE_ARN"],
              "Input": json.dumps({"case_id": CASE, "request_id": "01J", "step": 0})}
    if ENV.get("PORTAAL_SCHEDULE_DLQ_ARN"):
        target["DeadLetterConfig"] = {"Arn": ENV["PORTAAL_SCHEDULE_DLQ_ARN"]}
    arn = scheduler.create_schedule(
        Name=name, GroupName=group, ScheduleExpression="at(2030-01-01T08:00:00)",
        ScheduleExpressionTimezone="UTC", FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE", Target=target,
    )["ScheduleArn"]
    expect(arn.endswith(f":schedule/{group}/{name}"), arn)
    got = scheduler.get_schedule(Name=name, GroupName=group)
    expect(got["ScheduleExpression"] == "at(2030-01-01T08:00:00)" and got["Target"]["Arn"] == target["Arn"], f"{got}")
    try:
        scheduler.create_schedule(Name=name, GroupName=group, ScheduleExpression="at(2030-01-01T08:00:00)",
                                  FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
        raise AssertionError("duplicate schedule accepted")
    except ClientError as e:
        expect(e.response["Error"]["Code"] == "ConflictException", str(e))
    scheduler.delete_schedule(Name=name, GroupName=group)
    try:
        scheduler.delete_schedule(Name=name, GroupName=group)
        raise AssertionError("second delete succeeded")
    except ClientError as e:
        expect(e.response["Error"]["Code"] == "ResourceNotFoundException", str(e))
    return f"{arn}; duplicate ConflictException; delete, then ResourceNotFoundException"


for name, fn in [
    ("dynamodb table from template", dynamodb_table),
    ("dynamodb items", dynamodb_items),
    ("s3 path-style endpoint", s3_path_style),
    ("s3 presigned PUT accepted", s3_presigned_put_ok),
    ("s3 presigned PUT refused", s3_presigned_put_refused),
    ("s3 presigned GET", s3_presigned_get),
    ("s3 sha-256 checksum", s3_checksum),
    ("sesv2 send_email visible in moto", ses_send),
    ("scheduler one-time schedule", scheduler_schedule),
]:
    check(name, fn)

if failures:
    print(f"selftest: {len(failures)} FAILED: {failures}", file=sys.stderr)
    sys.exit(1)
print("selftest: all checks passed", file=sys.stderr)
