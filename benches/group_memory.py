"""Time and peak memory of a batched aggregate over very many small groups, beside the built-in avg:
GROUP BY over GROUPS groups of ROWS rows each, at the default work_mem and at a large one, each query
in a fresh backend whose peak resident memory (VmHWM) is read from /proc. Also what EXPLAIN ANALYZE says
of the hash aggregation (batches spilled, memory). Run by benches/group_memory.sh, which starts the server."""

import argparse
import re
import statistics
import time

import psycopg2

SESSION = "-c jit=off -c max_parallel_workers_per_gather=0"


def peak_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmHWM"].split()[0])


def run(port, aggregate, work_mem):
    """(seconds, peak KiB, hash batches, hash memory KiB) of one query in a new backend."""
    conn = psycopg2.connect(host="localhost", port=port, user="postgres", dbname="postgres", options=SESSION)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"SET work_mem = '{work_mem}'")
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    # Warm the module and the instance on one group, so the timed query is the aggregation itself.
    cur.execute(f"SELECT {aggregate}(x) FROM groups WHERE g = 0")
    query = f"SELECT count(*), sum(m) FROM (SELECT g, {aggregate}(x) AS m FROM groups GROUP BY g) s"
    started = time.perf_counter()
    cur.execute(query)
    seconds = time.perf_counter() - started
    peak = peak_kib(pid)
    conn.close()
    explain = psycopg2.connect(host="localhost", port=port, user="postgres", dbname="postgres", options=SESSION)
    cur = explain.cursor()
    cur.execute(f"SET work_mem = '{work_mem}'")
    cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + query)
    plan = "\n".join(row[0] for row in cur.fetchall())
    explain.close()
    batches = re.search(r"Batches: (\d+)", plan)
    memory = re.search(r"Memory Usage: (\d+)kB", plan)
    return seconds, peak, int(batches.group(1)) if batches else 1, int(memory.group(1)) if memory else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--groups", type=int, default=1_000_000)
    p.add_argument("--rows", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    conn = psycopg2.connect(host="localhost", port=args.port, user="postgres", dbname="postgres")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS groups")
    cur.execute(f"CREATE TABLE groups AS SELECT i % {args.groups} AS g, (i * 37 % 1000)::float8 / 7 AS x "
                f"FROM generate_series(1, {args.groups * args.rows}) AS i")
    cur.execute("VACUUM ANALYZE groups")
    conn.close()
    print(f"{args.groups:,} groups of {args.rows} rows; median of {args.rounds} runs, each in a new backend\n")
    print("| work_mem | aggregate | seconds | ratio to avg | peak resident | ratio to avg | hash batches | hash memory |")
    print("|---|---|---|---|---|---|---|---|")
    for work_mem in ("4MB", "4GB"):
        results = {}
        for _ in range(args.rounds):
            for aggregate in ("avg", "ts_mean"):
                results.setdefault(aggregate, []).append(run(args.port, aggregate, work_mem))
        med = {a: [statistics.median(r[i] for r in rs) for i in range(4)] for a, rs in results.items()}
        for aggregate in ("avg", "ts_mean"):
            s, peak, batches, memory = med[aggregate]
            print(f"| {work_mem} | {aggregate} | {s:.2f} | {s / med['avg'][0]:.2f} | {peak / 1024:.0f} MB | "
                  f"{peak / med['avg'][1]:.2f} | {batches:.0f} | {memory / 1024:.0f} MB |")


if __name__ == "__main__":
    main()
