#!/usr/bin/env python3
"""A large upload to the local server, beside its reference: `openssl sha256` + `cp` + `sync` of
the same file on the same disk (what the server must do at least: hash it and write it durably).

    cargo build --release -p portal
    python3 tests/perf/upload.py [--size-mib 1024] [--binary target/release/portal] [--parts]

Without `--parts`: one signed PUT (`curl -T`, as a browser PUTs), the part threshold raised above
the file. With `--parts`: the file in parts, as the browser sends a file above
`PORTAAL_PART_THRESHOLD_BYTES` (default 256 MiB; `--part-mib` sets the part size, default the
server's 64 MiB): stage without `sha256`, per part `POST parts_url {number, sha256}` then PUT the
part to the URL it answers, `POST complete_url {parts, sha256}` (the server hashes the joined file
again), then the delivery's confirm. The client's hashes are computed while the file is written,
before any timing (as for the single PUT); the reference is measured right before the upload.

Prints the reference time, the upload time, their ratio, and the server's peak resident memory
before and after the upload (VmHWM). Nothing is asserted: timings belong to this machine.
"""
import argparse, hashlib, http.client, json, os, re, shutil, subprocess, sys, tempfile, time
import urllib.parse, urllib.request

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


def make_file(path, size, part_size):
    """Writes `size` bytes; answers the whole file's SHA-256 and each part's."""
    block = os.urandom(1 << 20)
    digest, part, parts = hashlib.sha256(), hashlib.sha256(), []
    with open(path, "wb") as f:
        for i in range(size >> 20):
            # Not one repeated block: every MiB differs, so nothing along the way dedups it.
            chunk = i.to_bytes(8, "little") + block[8:]
            digest.update(chunk)
            part.update(chunk)
            f.write(chunk)
            if ((i + 1) << 20) % part_size == 0:
                parts.append(part.hexdigest())
                part = hashlib.sha256()
    if size % part_size:
        parts.append(part.hexdigest())
    return digest.hexdigest(), parts


class Slice:
    """`length` bytes of an open file from `offset`, read as http.client sends a body."""

    def __init__(self, f, offset, length):
        self.f, self.left = f, length
        f.seek(offset)

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data


def put_part(url, headers, f, offset, length):
    """PUTs one part's bytes; answers the ETag."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, blocksize=1 << 20)
    path = u.path + ("?" + u.query if u.query else "")
    head = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    head["Content-Length"] = str(length)
    conn.request("PUT", path, body=Slice(f, offset, length), headers=head)
    res = conn.getresponse()
    res.read()
    if res.status // 100 != 2:
        raise SystemExit(f"part PUT answered {res.status}")
    conn.close()
    return res.getheader("ETag")


def send_in_parts(src, size, sha, part_hashes, link, staged):
    """Sends a staged file in parts and completes it; answers the seconds of each step."""
    upload, client = staged["upload"], {"X-Portaal-Client": "1"}
    part_size = upload["part_size"]
    etags, asked = [], 0.0
    start = time.perf_counter()
    with open(src, "rb") as f:
        for number, part_sha in enumerate(part_hashes, start=1):
            t = time.perf_counter()
            target = call("POST", upload["parts_url"], {"number": number, "sha256": part_sha},
                          key=None, headers=client)
            asked += time.perf_counter() - t
            offset = (number - 1) * part_size
            etag = put_part(target["url"], target["headers"], f, offset,
                            min(part_size, size - offset))
            etags.append({"number": number, "etag": etag})
    parts = time.perf_counter() - start
    t = time.perf_counter()
    call("POST", upload["complete_url"], {"parts": etags, "sha256": sha}, key=None, headers=client)
    complete = time.perf_counter() - t
    t = time.perf_counter()
    call("POST", link + "/deliveries", {"uploads": [staged["id"]], "comment": "Groot.",
         "submitted_by": {"name": "P. Bakker", "email": "p.bakker@example.nl"}},
         key=None, headers=client)
    confirm = time.perf_counter() - t
    return parts, asked, complete, confirm


def reference(src, work):
    dst = os.path.join(work, "copy.bin")
    start = time.perf_counter()
    subprocess.run(["openssl", "sha256", src], check=True, stdout=subprocess.DEVNULL)
    shutil.copyfile(src, dst)
    os.sync()
    took = time.perf_counter() - start
    os.remove(dst)
    return took


def start_server(binary, data_dir, settings):
    env = dict(os.environ, PORTAAL_BACKEND="embedded", PORTAAL_ADDR="127.0.0.1:0",
               PORTAAL_DATA_DIR=data_dir, PORTAAL_API_KEY=KEY, PORTAAL_ADMIN_KEY=ADMIN,
               PORTAAL_WORKER="off", RUST_LOG="warn", **settings)
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
    parser.add_argument("--parts", action="store_true", help="send the file in parts")
    parser.add_argument("--part-mib", type=int, default=64)
    args = parser.parse_args()
    size, part_size = args.size_mib << 20, args.part_mib << 20
    if args.parts:
        # The server's threshold (default 256 MiB) and part size, unless the file is smaller.
        settings = {"PORTAAL_PART_SIZE_BYTES": str(part_size)}
        if size <= 256 << 20:
            settings["PORTAAL_PART_THRESHOLD_BYTES"] = str(part_size)
    else:
        settings = {"PORTAAL_PART_THRESHOLD_BYTES": str(max(size, 256 << 20))}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as work:
        src = os.path.join(work, "groot.bin")
        sha, part_hashes = make_file(src, size, part_size)
        server, base = start_server(args.binary, os.path.join(work, "data"), settings)
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
            stage = {"filename": "groot.bin", "content_type": "application/octet-stream",
                     "size": size}
            if not args.parts:
                stage["sha256"] = sha
            staged = call("POST", link + "/uploads", stage, key=None,
                          headers={"X-Portaal-Client": "1"})
            ref = reference(src, work)
            before = peak_rss_mib(server.pid)
            start = time.perf_counter()
            if args.parts:
                parts, asked, complete, confirm = send_in_parts(
                    src, size, sha, part_hashes, link, staged)
            else:
                subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "-T", src,
                                "-H", "Content-Type: application/octet-stream",
                                staged["upload"]["url"]], check=True)
            took = time.perf_counter() - start
            after = peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait()
    mib = size / (1 << 20)
    how = (f"in {len(part_hashes)} parts of {args.part_mib} MiB + complete + confirm"
           if args.parts else "one signed PUT")
    print(f"| {'what':<62} | {'seconds':>8} | {'MiB/s':>8} |")
    print(f"|{'-' * 64}|{'-' * 10}|{'-' * 10}|")
    print(f"| {'reference: openssl sha256 + cp + sync':<62} | {ref:>8.2f} | {mib / ref:>8.0f} |")
    print(f"| {'upload to the local server, ' + how:<62} | {took:>8.2f} | {mib / took:>8.0f} |")
    if args.parts:
        print(f"| {'  of which: parts (POST parts_url + PUT each)':<62} | {parts:>8.2f} | {mib / parts:>8.0f} |")
        print(f"| {'    of which: the POSTs to parts_url':<62} | {asked:>8.2f} | {'':>8} |")
        print(f"| {'  complete (the server hashes the joined file)':<62} | {complete:>8.2f} | {'':>8} |")
        print(f"| {'  confirm (the delivery)':<62} | {confirm:>8.2f} | {'':>8} |")
    print(f"\nupload speed / reference speed: {ref / took:.2f}")
    print(f"server peak RSS: {before:.1f} MiB before the upload, {after:.1f} MiB after")


if __name__ == "__main__":
    sys.exit(main())
