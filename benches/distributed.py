"""The distributed benchmark (docs/distributed.md): the same queries over a table distributed by Citus
across two workers and over a plain table of the same rows on the coordinator, interleaved round by
round. Reports wall time, each node's CPU time (from /proc: the node's postmaster and its backends),
the coordinator's own share from EXPLAIN ANALYZE, and what the CPU times predict for workers on
machines of their own. Checks that both sides give the same answers.
Usage (through benches/distributed.sh): distributed.py --port P --nodes DIR --guests DIR --rows N
                                        [--shards 32] [--rounds 3] [--cores-per-worker 2] [--out FILE]"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import psycopg2

# The nodes as scripts/citus.sh starts them: the coordinator on PORT, the workers on the next two.
NODES = ["coordinator", "worker1", "worker2"]

QUERIES = [
    ("scalar UDF sum", "SELECT sum(scale(x)) FROM {table}"),
    ("batched ts_mean + ts_stddev", "SELECT ts_mean(x), ts_stddev(x) FROM {table}"),
    ("GROUP BY of 1,000 groups", "SELECT g, ts_mean(x), ts_stddev(x) FROM {table} GROUP BY g ORDER BY g"),
]

SCALE = """CREATE OR REPLACE FUNCTION scale(float8) RETURNS float8 IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm
AS '(module (func (export "scale") (param f64) (result f64) local.get 0 f64.const 2.5 f64.mul))'"""

# Deterministic rows, made on each side by the same expression.
ROWS = """SELECT i AS id, (i % 1000)::int AS g, sin(i) * 100 + 50 AS x,
                 '2026-01-01'::timestamptz + i * interval '1 second' AS ts FROM generate_series(1, {rows}) AS i"""


def connect(port):
    conn = psycopg2.connect(host="localhost", port=port, user="postgres", dbname="citus_tests",
                            options="-c jit=off")
    conn.autocommit = True
    return conn


def setup(cur, guests, rows, shards):
    cur.execute("CREATE EXTENSION IF NOT EXISTS plwasm")
    with open(os.path.join(guests, "timeseries.wasm"), "rb") as f:
        cur.execute("SELECT plwasm.install_module('timeseries', %s)", (f.read(),))
    with open(os.path.join(guests, "timeseries.sql")) as f:
        cur.execute(f.read())
    cur.execute(SCALE)
    cur.execute("DROP TABLE IF EXISTS readings, readings_local")
    cur.execute("CREATE TABLE readings (id bigint, g int, x float8, ts timestamptz)")
    cur.execute("SELECT create_distributed_table('readings', 'id', shard_count => %s)", (shards,))
    cur.execute("INSERT INTO readings " + ROWS.format(rows=rows))
    cur.execute("CREATE TABLE readings_local AS " + ROWS.format(rows=rows))
    cur.execute("VACUUM ANALYZE readings")
    cur.execute("VACUUM ANALYZE readings_local")


def postmaster_pid(nodes_dir, node):
    with open(os.path.join(nodes_dir, node, "data", "postmaster.pid")) as f:
        return int(f.readline())


def node_cpu_seconds(pid):
    """CPU seconds of a postmaster's reaped children plus its live ones (its backends)."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(p):
        with open(f"/proc/{p}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    fields = stat(pid)
    total = int(fields[13]) + int(fields[14])  # cutime, cstime: children it has waited for
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            child = stat(entry)
            if int(child[1]) == pid:  # ppid
                total += int(child[11]) + int(child[12])  # utime, stime
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total / tick


def answers(cur, sql):
    cur.execute(sql)
    return cur.fetchall()


def same(a, b):
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        for va, vb in zip(ra, rb):
            if isinstance(va, float) or isinstance(vb, float):
                if not math.isclose(va, vb, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif va != vb:
                return False
    return True


def coordinator_share_ms(cur, sql):
    """From EXPLAIN ANALYZE of the distributed query: the time spent above Citus's scan (combining the
    workers' partial results and finishing), and the sum of each worker's task times."""
    cur.execute("SET citus.explain_all_tasks = on")
    cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
    plan = cur.fetchone()[0][0]["Plan"]
    cur.execute("RESET citus.explain_all_tasks")

    def find_scan(node):
        if node.get("Custom Plan Provider", "").startswith("Citus"):
            return node
        for child in node.get("Plans", []):
            found = find_scan(child)
            if found:
                return found
        return None

    scan = find_scan(plan)
    tasks = {}
    for task in scan["Distributed Query"]["Job"]["Tasks"]:
        node = task["Node"].split("port=")[1].split()[0]
        remote = task["Remote Plan"][0][0]
        tasks[node] = tasks.get(node, 0.0) + remote.get("Execution Time", remote["Plan"]["Actual Total Time"])
    return plan["Actual Total Time"] - scan["Actual Total Time"], tasks


def write_markdown(path, args, results):
    lines = [
        "# Distributed against single node (benches/distributed.sh)",
        "",
        f"{args.rows:,} rows; Citus, {args.shards} shards on 2 workers; the same rows in a plain table on the "
        f"coordinator, where PostgreSQL's parallel query may use its default two workers. Median of "
        f"{args.rounds} rounds, interleaved. All three nodes share this machine's "
        f"{os.cpu_count()} cores, so the wall time of the distributed query is not what separate machines "
        "would give: the CPU columns say where the work went (each node's postmaster and backends, from "
        "/proc), and the last column predicts the wall time with each worker on a machine of its own with "
        f"{args.cores_per_worker} cores (the busier worker's CPU time over its cores, plus the coordinator's "
        "share from EXPLAIN ANALYZE: combining the workers' partial results and finishing).",
        "",
        "| query | single node s | its CPU s | distributed s | ratio | coordinator CPU s | worker 1 CPU s "
        "| worker 2 CPU s | coordinator share ms | predicted, separate workers s | predicted ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cpu = r["cpu_s"]
        lines.append(
            f"| {r['query']} | {r['single_node_s']:.3f} | {r['single_node_cpu_s']:.2f} | {r['distributed_s']:.3f} "
            f"| {r['distributed_s'] / r['single_node_s']:.2f}× | {cpu['coordinator']:.2f} | {cpu['worker1']:.2f} "
            f"| {cpu['worker2']:.2f} | {r['coordinator_combine_ms']:.1f} | {r['predicted_separate_machines_s']:.3f} "
            f"| {r['predicted_separate_machines_s'] / r['single_node_s']:.2f}× |")
    lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nodes", required=True)
    parser.add_argument("--guests", required=True)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--shards", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cores-per-worker", type=int, default=2)
    parser.add_argument("--out")
    args = parser.parse_args()

    conn = connect(args.port)
    cur = conn.cursor()
    started = time.perf_counter()
    setup(cur, args.guests, args.rows, args.shards)
    print(f"loaded {args.rows:,} rows in {args.shards} shards and locally in {time.perf_counter() - started:.0f} s",
          flush=True)
    pids = {node: postmaster_pid(args.nodes, node) for node in NODES}
    results, problems = [], []
    for name, template in QUERIES:
        distributed, local = template.format(table="readings"), template.format(table="readings_local")
        # A first run of each, unmeasured: every backend has its modules and instances ready.
        expected, got = answers(cur, local), answers(cur, distributed)
        if not same(expected, got):
            problems.append(f"{name}: the distributed answer differs from the single node's")
        walls = {"distributed": [], "single node": []}
        cpu = {node: [] for node in NODES}
        single_cpu = []
        for _ in range(args.rounds):
            before = {node: node_cpu_seconds(pid) for node, pid in pids.items()}
            t = time.perf_counter()
            answers(cur, distributed)
            walls["distributed"].append(time.perf_counter() - t)
            after = {node: node_cpu_seconds(pid) for node, pid in pids.items()}
            for node in NODES:
                cpu[node].append(after[node] - before[node])
            before = node_cpu_seconds(pids["coordinator"])
            t = time.perf_counter()
            answers(cur, local)
            walls["single node"].append(time.perf_counter() - t)
            single_cpu.append(node_cpu_seconds(pids["coordinator"]) - before)
        combine_ms, task_ms = coordinator_share_ms(cur, distributed)
        wall = {k: statistics.median(v) for k, v in walls.items()}
        node_cpu = {node: statistics.median(v) for node, v in cpu.items()}
        worker_cpu = max(node_cpu["worker1"], node_cpu["worker2"])
        predicted = worker_cpu / args.cores_per_worker + combine_ms / 1000
        results.append({
            "query": name, "distributed_s": wall["distributed"], "single_node_s": wall["single node"],
            "single_node_cpu_s": statistics.median(single_cpu),
            "cpu_s": node_cpu, "coordinator_combine_ms": combine_ms, "task_ms_by_worker_port": task_ms,
            "predicted_separate_machines_s": predicted,
        })
        print(f"{name}: distributed {wall['distributed']:.3f} s, single node {wall['single node']:.3f} s, "
              f"CPU s coordinator {node_cpu['coordinator']:.2f} / worker1 {node_cpu['worker1']:.2f} / "
              f"worker2 {node_cpu['worker2']:.2f}, combine {combine_ms:.1f} ms, "
              f"predicted on separate {args.cores_per_worker}-core workers {predicted:.3f} s", flush=True)
    if args.out:
        write_markdown(os.path.splitext(args.out)[0] + ".md", args, results)
        with open(args.out, "w") as f:
            json.dump({"rows": args.rows, "shards": args.shards, "rounds": args.rounds,
                       "cores_per_worker": args.cores_per_worker, "results": results, "problems": problems}, f,
                      indent=1)
    for problem in problems:
        print("PROBLEM:", problem, file=sys.stderr)
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
