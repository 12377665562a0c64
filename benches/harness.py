"""The benchmark harness: runs every workload of workloads.py against the server benches/run.sh
started, contenders interleaved round by round (A B C A B C ...), checks that all contenders of a
workload give the same answer, and writes a Markdown table, a JSON file and a PNG chart.
Usage (through benches/run.sh): harness.py --port P --guests DIR --out DIR [--rounds N] [--smoke] [workload ...]"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg2

import workloads as wl

SESSION = "-c jit=off -c max_parallel_workers_per_gather=0"


class Server:
    def __init__(self, port, pg_bin):
        self.port, self.pg_bin = port, pg_bin
        self.connections = {}

    def connect(self, options=""):
        conn = psycopg2.connect(host="localhost", port=self.port, user="postgres", dbname="postgres",
                                options=f"{SESSION} {options}".strip())
        conn.autocommit = True
        return conn

    def session(self, options=""):
        """One long-lived session per set of options, shared by the query workloads."""
        if options not in self.connections:
            self.connections[options] = self.connect(options)
        return self.connections[options]

    def pgbench(self, statement, args):
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
            script.write(statement + "\n")
        try:
            out = subprocess.run([os.path.join(self.pg_bin, "pgbench"), "-h", "localhost", "-p", str(self.port),
                                  "-U", "postgres", "-n", "-f", script.name, *args, "postgres"],
                                 capture_output=True, text=True, env={**os.environ, "PGOPTIONS": SESSION})
        finally:
            os.unlink(script.name)
        failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
        tps = re.search(r"tps = ([0-9.]+)", out.stdout)
        if out.returncode != 0 or not tps or (failed and int(failed.group(1)) > 0):
            raise RuntimeError(f"pgbench failed for {statement!r}:\n{out.stdout}\n{out.stderr}")
        return float(tps.group(1))


def has_plpython(server):
    """Whether the server offers PL/Python (all four majors here do; a build without it skips those contenders)."""
    cur = server.session().cursor()
    cur.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'plpython3u'")
    return cur.fetchone()[0] > 0


def without_kind(workloads, kind):
    """The workloads with no contender of `kind`, and no target that compares one."""
    kept = []
    for w in workloads:
        gone = {c.label for c in w.contenders if c.kind == kind}
        if w.reference in gone:
            continue
        w.contenders = [c for c in w.contenders if c.label not in gone]
        w.targets = [t for t in w.targets if t.numerator not in gone and t.denominator not in gone]
        kept.append(w)
    return kept


def load(server, size, guests_dir, python):
    conn = server.connect()
    cur = conn.cursor()
    for ext in ("plwasm", "plwasm_bench_native") + (("plpython3u",) if python else ()):
        cur.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")
    # Every guest staged by scripts/common.sh (stage_guests), named like its file.
    for file in sorted(os.listdir(guests_dir)):
        if file.endswith(".wasm"):
            with open(os.path.join(guests_dir, file), "rb") as f:
                cur.execute("SELECT plwasm.install_module(%s, %s)", (file[: -len(".wasm")], psycopg2.Binary(f.read())))
    with open(os.path.join(guests_dir, "timeseries.sql")) as f:
        cur.execute(f.read())
    cur.execute(wl.setup_sql(size, python))
    cur.execute("VACUUM ANALYZE")
    conn.close()


def run_query(conn, sql):
    cur = conn.cursor()
    started = time.perf_counter()
    cur.execute(sql)
    rows = cur.fetchall()
    return (time.perf_counter() - started) * 1000.0, rows


def agree(a, b, tolerance):
    """Whether two answers (lists of rows) are the same, floats within a relative tolerance."""
    flat = lambda rows: [v for row in rows for v in (row if isinstance(row, (list, tuple)) else [row])]
    a, b = flat(a), flat(b)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, (list, tuple)) or isinstance(y, (list, tuple)):
            if not agree([x], [y], tolerance):
                return False
        elif isinstance(x, (int, float)) or isinstance(y, (int, float)) or hasattr(x, "is_finite"):
            x, y = float(x), float(y)
            if abs(x - y) > tolerance * max(abs(x), abs(y), 1e-300):
                return False
        elif x != y:
            return False
    return True


def check_answers(server, workload):
    """Every contender's answer against the reference's; returns the problems found."""
    answers = {}
    for c in workload.contenders:
        _, answers[c.label] = run_query(server.session(c.options), c.answer or c.timed)
    reference = answers[workload.reference]
    return [f"{workload.name}: {label} answered {rows!r}, {workload.reference} answered {reference!r}"
            for label, rows in answers.items() if not agree(rows, reference, workload.tolerance)]


def compile_sample(server, code_cache):
    """Microseconds plwasm reports for making the time-series module ready in a new backend."""
    conn = server.connect(f"-c plwasm.code_cache={code_cache} -c client_min_messages=debug1")
    cur = conn.cursor()
    cur.execute("SELECT ts_mean(x) FROM (VALUES (1.0::float8)) AS v(x)")
    cur.execute("SELECT substr(sha256, 1, 16) FROM plwasm.modules WHERE name = 'timeseries'")
    module = cur.fetchone()[0]
    conn.close()
    found = [re.search(r"module (\w+) (compiled|loaded precompiled) in (\d+) us", n) for n in conn.notices]
    found = [m for m in found if m and m.group(1) == module]
    expected = "compiled" if code_cache == "off" else "loaded precompiled"
    if not found or found[-1].group(2) != expected:
        raise RuntimeError(f"no '{expected}' message for the time-series module in {conn.notices!r}")
    return float(found[-1].group(3))


def measure(server, workload, size, rounds, smoke):
    """samples[label] = one value per round, contenders interleaved within each round."""
    seconds = size["pgbench_seconds"]
    duration = ["-t", "3"] if smoke else ["-T", str(seconds)]
    def one(c):
        if workload.mode == "query":
            return run_query(server.session(c.options), c.timed)[0]
        if workload.mode == "connect":
            return server.pgbench(c.timed, ["-C", "-c", "1", *duration])
        if workload.mode == "throughput":
            return server.pgbench(c.timed, ["-c", "2", "-j", "2", "-M", "prepared", *duration])
        return statistics.median(compile_sample(server, c.timed) for _ in range(size["compile_samples"]))
    if workload.mode == "query":
        for c in workload.contenders:  # warm-up: compile, instantiate, bring pages into the cache
            run_query(server.session(c.options), c.timed)
    samples = {c.label: [] for c in workload.contenders}
    for _ in range(rounds):
        for c in workload.contenders:
            samples[c.label].append(one(c))
    return samples


def summarize(workload, samples):
    unit = {"query": "ms", "connect": "tps", "throughput": "tps", "compile": "us"}[workload.mode]
    ref = samples[workload.reference]
    rows = []
    for c in workload.contenders:
        s = samples[c.label]
        rows.append(dict(label=c.label, kind=c.kind, samples=s, median=statistics.median(s), min=min(s), max=max(s),
                         ratio=statistics.median(x / r for x, r in zip(s, ref)),
                         ns_per_row=statistics.median(s) * 1e6 / workload.rows if workload.rows and unit == "ms" else None))
    targets = []
    for t in workload.targets:
        ratio = statistics.median(n / d for n, d in zip(samples[t.numerator], samples[t.denominator]))
        met = ratio <= t.bound if t.at_most else ratio >= t.bound
        targets.append(dict(description=t.description, ratio=ratio, bound=t.bound,
                            at_most=t.at_most, met=met))
    return dict(name=workload.name, title=workload.title, unit=unit, reference=workload.reference,
                contenders=rows, targets=targets)


def markdown(results):
    lines = [f"# plwasm benchmarks", "",
             f"{results['date']}, {results['machine']}, PostgreSQL {results['postgres']}, "
             f"{results['rounds']} interleaved rounds; jit off, no parallel workers.", "",
             "## Targets", "", "| ratio | measured | target | met |", "|---|---|---|---|"]
    for w in results["workloads"]:
        for t in w["targets"]:
            lines.append(f"| {t['description']} | {t['ratio']:.2f} | {'≤' if t['at_most'] else '≥'} {t['bound']:g} | "
                         f"{'yes' if t['met'] else '**no**'} |")
    for w in results["workloads"]:
        higher = w["unit"] == "tps"
        lines += ["", f"## {w['title']}", "",
                  f"| contender | median {w['unit']} | min | max | median ratio to {w['reference']} |"
                  + (" ns per row |" if any(c["ns_per_row"] for c in w["contenders"]) else ""),
                  "|---|---|---|---|---|" + ("---|" if any(c["ns_per_row"] for c in w["contenders"]) else "")]
        for c in w["contenders"]:
            row = f"| {c['label']} | {c['median']:.1f} | {c['min']:.1f} | {c['max']:.1f} | {c['ratio']:.2f} |"
            if c["ns_per_row"]:
                row += f" {c['ns_per_row']:.1f} |"
            lines.append(row)
        lines.append("")
        lines.append("Higher is better (transactions per second)." if higher else "Lower is better.")
    return "\n".join(lines) + "\n"


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    targets = [t for w in results["workloads"] for t in w["targets"]]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(targets) + 1.5))
    names = [t["description"] for t in targets][::-1]
    ratios = [t["ratio"] for t in targets][::-1]
    colors = ["#2e7d32" if t["met"] else "#c62828" for t in targets][::-1]
    ax.barh(names, ratios, color=colors)
    for i, t in enumerate(targets[::-1]):
        ax.plot([t["bound"]] * 2, [i - 0.4, i + 0.4], color="black", linewidth=2)
        ax.text(ratios[i] * 1.05, i, f"{ratios[i]:.2f}", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("measured ratio (log scale); black mark: target; green: target met")
    ax.set_title(f"plwasm, {results['date']}, {results['machine']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pg-bin", required=True)
    p.add_argument("--guests", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("only", nargs="*")
    args = p.parse_args()
    size = wl.SMOKE if args.smoke else wl.FULL
    rounds = 1 if args.smoke else args.rounds
    server = Server(args.port, args.pg_bin)
    python = has_plpython(server)
    print("loading data" + ("" if python else " (no PL/Python on this server: its contenders are left out)"),
          file=sys.stderr, flush=True)
    load(server, size, args.guests, python)
    chosen = [w for w in wl.workloads(size) if not args.only or w.name in args.only]
    if not python:
        chosen = without_kind(chosen, "plpython")
    problems, summaries = [], []
    for w in chosen:
        print(f"workload {w.name}", file=sys.stderr, flush=True)
        if w.mode == "query":
            problems += check_answers(server, w)
        samples = measure(server, w, size, rounds, args.smoke)
        problems += [f"{w.name}: {label} produced no measurement" for label, s in samples.items()
                     if len(s) != rounds or not all(v > 0 for v in s)]
        summaries.append(summarize(w, samples))
    version = server.session().cursor()
    version.execute("SHOW server_version")
    results = dict(date=time.strftime("%Y-%m-%d", time.gmtime()), machine=machine(), postgres=version.fetchone()[0],
                   rounds=rounds, smoke=args.smoke, workloads=summaries, problems=problems)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "latest.md"), "w") as f:
        f.write(markdown(results))
    chart(results, os.path.join(args.out, "latest.png"))
    print(markdown(results))
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    contenders = sum(len(w["contenders"]) for w in summaries)
    print(f"{len(summaries)} workloads, {contenders} contenders, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
