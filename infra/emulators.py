#!/usr/bin/env python3
"""Helper for infra/emulators: free ports, readiness checks, and creating the AWS resources.

Everything here writes to stderr only; infra/emulators owns stdout (the `export` lines).

Subcommands:
  ports N                 print N free loopback TCP ports, space separated
  wait URL [SECONDS]      wait until URL answers with any HTTP status
  setup --moto URL --s3 URL --template FILE --table T --bucket B --mail-from M --group G
        --access-key K --secret-key S --region R [--dlq NAME]
  table --template FILE --table T
                          create one more table like the stack's, without stream (AWS_* variables name moto)
                          create the table (from template.yaml's `Table` resource), TTL, the
                          bucket, the SES identity, the schedule group and the schedule DLQ;
                          prints the DLQ ARN on stdout (captured by the shell script)

Reading sent mail in tests: `GET $PORTAAL_MOTO_URL/portaal-test/sent-mail` (served here; moto's
`/moto-api/data.json` has the same under "ses" with every other service besides), then
  data["Message"]     -> list of {"id", "source", "destinations": {"ToAddresses": [...],
                                "CcAddresses": [...], "BccAddresses": [...]}, "subject", "body"}
                                for SES v2 SendEmail with Content.Simple (body is the Html part
                                when there is one, else the Text part);
  data["RawMessage"]         -> list of {"id", "source", "destinations": [...], "raw_data"} for
                                SES v2 SendEmail with Content.Raw (the whole MIME message).
(moto keeps SES v1 and v2 in one backend, so SES v2 mail shows up under "ses", not "sesv2".)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request


def log(*args: object) -> None:
    print("emulators:", *args, file=sys.stderr, flush=True)


def free_ports(n: int) -> list[int]:
    # Hold all sockets open until every port is chosen, so the n ports are distinct.
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer (s3s-fs says 403 to an unsigned request) means it is up
        except Exception as e:  # connection refused while starting
            last = e
            time.sleep(0.2)
    raise SystemExit(f"emulators: {url} did not answer within {seconds:.0f}s ({last})")


# --- template.yaml -------------------------------------------------------------------------------


def load_template(path: str) -> dict:
    import yaml

    class CfnLoader(yaml.SafeLoader):
        """SafeLoader that accepts CloudFormation short-form tags (!Ref, !Sub, !GetAtt, ...)."""

    def construct_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict:
        name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: object = loader.construct_scalar(node)
            if tag_suffix == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    CfnLoader.add_multi_constructor("!", construct_tag)
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


def table_spec(template_path: str, table_name: str) -> tuple[dict, str | None]:
    tpl = load_template(template_path)
    props = tpl["Resources"]["Table"]["Properties"]
    spec: dict = {
        "TableName": table_name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    gsis = props.get("GlobalSecondaryIndexes")
    if gsis:
        spec["GlobalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in gsis
        ]
    stream = props.get("StreamSpecification")
    if stream:
        spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    ttl = props.get("TimeToLiveSpecification") or {}
    ttl_attr = ttl.get("AttributeName") if ttl.get("Enabled", True) else None
    return spec, ttl_attr


# --- setup ---------------------------------------------------------------------------------------


def setup(a: argparse.Namespace) -> None:
    import boto3
    from botocore.config import Config

    creds = dict(
        region_name=a.region, aws_access_key_id=a.access_key, aws_secret_access_key=a.secret_key
    )

    def moto(service: str):
        return boto3.client(service, endpoint_url=a.moto, **creds)

    spec, ttl_attr = table_spec(a.template, a.table)
    ddb = moto("dynamodb")
    ddb.create_table(**spec)
    ddb.get_waiter("table_exists").wait(TableName=a.table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    if ttl_attr:
        ddb.update_time_to_live(
            TableName=a.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attr}
        )
    log(
        f"table {a.table}: keys {[k['AttributeName'] for k in spec['KeySchema']]},",
        f"indexes {[g['IndexName'] for g in spec.get('GlobalSecondaryIndexes', [])]},",
        f"ttl {ttl_attr}, stream {spec.get('StreamSpecification', {}).get('StreamViewType')}",
    )

    s3 = boto3.client(
        "s3",
        endpoint_url=a.s3,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        **creds,
    )
    s3.create_bucket(Bucket=a.bucket, CreateBucketConfiguration={"LocationConstraint": a.region})
    log(f"bucket {a.bucket}")

    # moto's SES v2 SendEmail refuses an unverified sender ("Email address not verified");
    # SES v2 CreateEmailIdentity marks the identity verified at once (shared with SES v1).
    moto("sesv2").create_email_identity(EmailIdentity=a.mail_from)
    log(f"ses identity {a.mail_from}")

    # moto answers 500 to CreateSchedule in a group that does not exist, so create it first.
    moto("scheduler").create_schedule_group(Name=a.group)
    log(f"schedule group {a.group}")

    dlq_url = moto("sqs").create_queue(QueueName=a.dlq)["QueueUrl"]
    dlq_arn = moto("sqs").get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    log(f"schedule dlq {dlq_arn}")
    print(dlq_arn)


def create_table(a: argparse.Namespace) -> None:
    """One more table like the stack's, for a test that needs a store of its own (the feed and the
    subscriptions are global partitions). Endpoint and credentials from the AWS_* variables.

    Without the stream: nothing reads it here, and moto keeps every stream record and deep-copies
    the whole table (records included) for each write of a transaction, so a busy table with a
    stream grows slower and larger with every write."""
    import boto3

    from botocore.config import Config

    spec, ttl_attr = table_spec(a.template, a.table)
    spec.pop("StreamSpecification", None)
    # moto serves one request at a time: under a busy test run an answer can take a while.
    patient = Config(read_timeout=300, retries={"max_attempts": 10, "mode": "standard"})
    ddb = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"], config=patient)
    ddb.create_table(**spec)
    ddb.get_waiter("table_exists").wait(TableName=a.table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 600})
    if ttl_attr:
        ddb.update_time_to_live(
            TableName=a.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attr}
        )


def copy_tables_once_per_transaction() -> None:
    """moto backs up a table for rollback by deep-copying it once per *item* of a
    TransactWriteItems (a 97-item confirm copies the table 97 times), so transactions get slower
    and moto larger as tables grow. One copy per table and transaction restores the same state."""
    import copy as real_copy

    import moto.dynamodb.models as models

    if not hasattr(models, "copy") or not hasattr(models.DynamoDBBackend, "transact_write_items"):
        log("moto changed: transactions keep copying tables per item (slower, same results)")
        return

    class OncePerObject:
        def __init__(self) -> None:
            self.copies: dict[int, object] = {}

        def deepcopy(self, obj, memo=None):
            key = id(obj)
            if key not in self.copies:
                self.copies[key] = real_copy.deepcopy(obj, memo)
            return self.copies[key]

        def __getattr__(self, name: str):
            return getattr(real_copy, name)

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        models.copy = OncePerObject()
        try:
            return original(self, transact_items)
        finally:
            models.copy = real_copy

    models.DynamoDBBackend.transact_write_items = transact_write_items


# The sent mail alone: moto's /moto-api/data.json serialises every service (the tests' tables
# make it megabytes, and the server takes one request at a time).
SENT_MAIL_PATH = "/portaal-test/sent-mail"


def sent_mail() -> dict:
    """SES's sent messages in the shape data.json gives them: {"Message": [...], "RawMessage": [...]}."""
    from moto.core.model_instances import model_data

    out: dict[str, list] = {}
    for name, model in sorted(model_data.get("ses", {}).items()):
        items = []
        for instance in model.instances_tracked:
            fields = {}
            for attr in dir(instance):
                if attr.startswith("_"):
                    continue
                try:
                    value = getattr(instance, attr)
                    json.dumps(value)
                except (TypeError, AttributeError, ValueError):
                    continue
                fields[attr] = value
            items.append(fields)
        out[name] = items
    return out


def serve_moto(a: argparse.Namespace) -> None:
    """moto's server, handling one request at a time (connections stay concurrent).

    `moto_server` is threaded and moto's backends take no locks, so two concurrent
    TransactWriteItems on the same items can both succeed there; DynamoDB isolates them (one is
    cancelled). Serving requests one by one restores that isolation for the tests.
    """
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    import threading

    copy_tables_once_per_transaction()

    os.environ.setdefault("MOTO_PORT", str(a.port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        # Connections stay concurrent (SDK clients keep theirs open); requests take turns.
        with lock:
            if environ.get("PATH_INFO") == SENT_MAIL_PATH:
                body = json.dumps(sent_mail()).encode()
                start_response("200 OK", [("Content-Type", "application/json")])
                return [body]
            return list(app(environ, start_response))

    run_simple(a.host, a.port, one_at_a_time, threaded=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("ports")
    pp.add_argument("n", type=int)
    pw = sub.add_parser("wait")
    pw.add_argument("url")
    pw.add_argument("seconds", type=float, nargs="?", default=30)
    pm = sub.add_parser("serve-moto")
    pm.add_argument("--host", default="127.0.0.1")
    pm.add_argument("--port", type=int, required=True)
    ps = sub.add_parser("setup")
    for name in ("moto", "s3", "template", "table", "bucket", "mail-from", "group", "access-key", "secret-key", "region"):
        ps.add_argument(f"--{name}", required=True)
    ps.add_argument("--dlq", default="portaal-schedule-dlq")
    pt = sub.add_parser("table")
    pt.add_argument("--template", required=True)
    pt.add_argument("--table", required=True)
    a = p.parse_args()
    if a.cmd == "ports":
        print(" ".join(str(x) for x in free_ports(a.n)))
    elif a.cmd == "wait":
        wait_http(a.url, a.seconds)
    elif a.cmd == "serve-moto":
        serve_moto(a)
    elif a.cmd == "table":
        create_table(a)
    else:
        setup(a)


if __name__ == "__main__":
    main()
