"""Memory a backend spends per cached module: installs COUNT copies of a guest that differ only in a
custom section, then, in a fresh backend, calls a function over each and reads the backend's VmRSS
from /proc (anonymous and file-backed pages apart). Run by benches/module_memory.sh, which starts the server."""

import argparse
import psycopg2


def leb128(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def with_nonce(wasm, nonce):
    """The module with a custom section appended, so that its hash (and cache entry) is its own."""
    name = b"bench.nonce"
    body = leb128(len(name)) + name + str(nonce).encode()
    return wasm + b"\x00" + leb128(len(body)) + body


def rss_kib(pid):
    """Resident memory in KiB: (anonymous, file-backed), from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return tuple(int(fields[name].split()[0]) for name in ("RssAnon", "RssFile"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--wasm", required=True)
    parser.add_argument("--export", required=True)
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    wasm = open(args.wasm, "rb").read()

    def connect():
        conn = psycopg2.connect(host="localhost", port=args.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        return conn

    with connect() as setup:
        cur = setup.cursor()
        for i in range(args.count + 1):
            cur.execute("SELECT plwasm.install_module(%s, %s)", (f"mem_{i}", with_nonce(wasm, i)))
            cur.execute(f"CREATE OR REPLACE FUNCTION mem_{i}(int, int) RETURNS int LANGUAGE wasm "
                        f"AS 'mem_{i}:{args.export}'")

    print(f"{len(wasm):,} bytes of wasm, {args.count} modules, each made ready from the code cache in a fresh backend\n")
    print("| instances kept | resident before (anonymous + file) | after | per module: anonymous | file-backed |")
    print("|---|---|---|---|---|")
    for instances in (1, args.count + 1):
        conn = connect()
        cur = conn.cursor()
        cur.execute(f"SET plwasm.max_cached_modules = {args.count + 1}")
        cur.execute(f"SET plwasm.max_cached_instances = {instances}")
        cur.execute("SELECT pg_backend_pid(), mem_0(1, 1)")  # engine, caches and one module warmed up
        pid = cur.fetchone()[0]
        before = rss_kib(pid)
        for i in range(1, args.count + 1):
            cur.execute(f"SELECT mem_{i}(1, 1)")
            assert cur.fetchone()[0] == 2
        after = rss_kib(pid)
        label = "1 (modules only)" if instances == 1 else f"{instances} (one per module)"
        anon, file = ((a - b) / args.count for a, b in zip(after, before))
        print(f"| {label} | {before[0]:,} + {before[1]:,} KiB | {after[0]:,} + {after[1]:,} KiB "
              f"| {anon:,.0f} KiB | {file:,.0f} KiB |")
        conn.close()


if __name__ == "__main__":
    main()
