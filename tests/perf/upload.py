#!/usr/bin/env python3
"""A large upload to the local server, beside its reference: `openssl sha256` + `cp` of the
same file on the same disk (what the server must do at least: hash it and write it).

    cargo build --release -p portal
    python3 tests/perf/upload.py [--size-mib 1024] [--binary target/release/portal]

Prints the reference time, the upload time (curl -T to the signed URL, as a browser PUTs), their
ratio, and the server's peak resident memory before and after the upload (VmHWM). Nothing is
asserted: timings belong to this machine.
"""
import argparse, hashlib, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "bench-" + "k" * 40
ADMIN = "bench-" + "a" * 40


def call(method, url, body=None, key=KEY, headers=None, content_type="application/json"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req) as res:
        text = res.read()
        return json.loads(text) if text else None


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_file(path, size):
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(size >> 20):
            # Not one repeated block: every MiB differs, so nothing along the way dedups it.
            chunk = i.to_bytes(8, "little") + block[8:]
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


def reference(src, work):
    dst = os.path.join(work, "copy.bin")
    start = time.perf_counter()
    subprocess.run(["openssl", "sha256", src], check=True, stdout=subprocess.DEVNULL)
    shutil.copyfile(src, dst)
    os.sync()
    took = time.perf_counter() - start
    os.remove(dst)
    return took


def start_server(binary, data_dir):
    env = dict(os.environ, PORTAAL_BACKEND="embedded", PORTAAL_ADDR="127.0.0.1:0",
               PORTAAL_DATA_DIR=data_dir, PORTAAL_API_KEY=KEY, PORTAAL_ADMIN_KEY=ADMIN,
               PORTAAL_WORKER="off", RUST_LOG="warn")
    server = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in server.stdout:
        found = re.search(r"running \(embedded backend\) on (http://\S+)", line)
        if found:
            return server, found.group(1)
    raise SystemExit("the server did not start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/portal"))
    args = parser.parse_args()
    size = args.size_mib << 20
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as work:
        src = os.path.join(work, "groot.bin")
        sha = make_file(src, size)
        ref = reference(src, work)
        server, base = start_server(args.binary, os.path.join(work, "data"))
        try:
            api = base + "/api/v1"
            call("PATCH", api + "/case-types/bezwaar",
                 {"upload": {"max_file_bytes": size, "allowed_types": []}}, key=ADMIN,
                 content_type="application/merge-patch+json")
            call("PUT", api + "/dossiers/BENCH-UPLOAD", {
                "case_type": "bezwaar", "title": "Groot bestand", "submitter": {"name": "X"},
                "decision": {"reference": "R-1", "date": "2026-01-01", "department": "Vergunningen"},
                "handler": {"name": "H", "email": "h@example.nl"}})
            request = call("POST", api + "/dossiers/BENCH-UPLOAD/requests",
                           {"department": "Vergunningen", "to": ["v@example.nl"]})
            link = request["portal_url"]
            staged = call("POST", link + "/uploads", {
                "filename": "groot.bin", "content_type": "application/octet-stream",
                "size": size, "sha256": sha}, key=None, headers={"X-Portaal-Client": "1"})
            before = peak_rss_mib(server.pid)
            start = time.perf_counter()
            subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "-T", src,
                            "-H", "Content-Type: application/octet-stream", staged["upload"]["url"]],
                           check=True)
            took = time.perf_counter() - start
            after = peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait()
    mib = size / (1 << 20)
    print(f"| {'what':<40} | {'seconds':>8} | {'MiB/s':>8} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 10}|")
    print(f"| {'reference: openssl sha256 + cp':<40} | {ref:>8.2f} | {mib / ref:>8.0f} |")
    print(f"| {'upload to the local server (signed PUT)':<40} | {took:>8.2f} | {mib / took:>8.0f} |")
    print(f"\nupload speed / reference speed: {ref / took:.2f}")
    print(f"server peak RSS: {before:.1f} MiB before the upload, {after:.1f} MiB after")


if __name__ == "__main__":
    sys.exit(main())
