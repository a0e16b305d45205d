"""`make bench`: our run against the raw I/O floor and a plain pandas peer, per workload.

    python bench/run.py [--xl] [--only typical,large] [--no-history]

Each measurement runs in a fresh process: wall time, CPU time (user + system, children
included), peak RSS of the largest process of the tree, and the peak memory of the whole tree.
The large workload is also run as month 12: into a workspace holding eleven earlier large months.
Ours, the fixed cost (our run on the smallest real inbox; on an empty one for comparison), the
floor and the peer are taken in turn,
REPEATS times per workload, and the median of each is shown. Prints a table and writes
bench/RESULTS.md with the machine, the versions and the date. Generated workspaces are kept in
bench/.work/ (ignored by git) and rebuilt when the generator changes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
from datetime import date
from importlib.metadata import version
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import WORKLOADS, Workload, make_workspace  # noqa: E402

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work"
MEASURE = textwrap.dedent("""
    import json, os, resource, subprocess, sys, threading, time

    def tree(pid):  # the process and every descendant, from /proc
        pids, stack = [], [pid]
        while stack:
            p = stack.pop()
            pids.append(p)
            try:
                for task in os.listdir(f"/proc/{p}/task"):
                    with open(f"/proc/{p}/task/{task}/children") as handle:
                        stack += [int(c) for c in handle.read().split()]
            except OSError:
                pass
        return pids

    def memory(pids):  # kB: resident, and proportional (a page shared by n processes counts 1/n in each)
        rss = pss = 0
        for p in pids:
            try:
                with open(f"/proc/{p}/smaps_rollup") as handle:
                    for line in handle:
                        if line.startswith("Rss:"):
                            rss += int(line.split()[1])
                        elif line.startswith("Pss:"):
                            pss += int(line.split()[1])
            except OSError:
                pass
        return rss, pss

    start = time.perf_counter()
    child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]

    def sample():
        while child.poll() is None:
            for k, kb in enumerate(memory(tree(child.pid))):
                peak[k] = max(peak[k], kb)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - start
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"status": child.returncode, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                      "peak_mb": usage.ru_maxrss / 1024, "tree_rss_mb": peak[0] / 1024, "tree_pss_mb": peak[1] / 1024,
                      "stdout": stdout, "stderr": stderr[-2000:]}))
""")


def measured(command: list[str]) -> dict:
    result = json.loads(subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                                       text=True, check=True).stdout)
    if result["status"] not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{result['stderr']}")
    return result


def template(workload: Workload, period: str = "2026-10") -> Path:
    """The generated workspace, rebuilt only when the generator or the sample standard changed."""
    stamp = hashlib.sha256((BENCH / "workload.py").read_bytes() + repr(workload).encode()
                           + (BENCH.parent / "sample_inputs" / "rates" / "rates.xlsx").read_bytes()).hexdigest()
    name = "template" if period == "2026-10" else f"template-{period}"
    target = WORK / workload.name / name
    if (target.parent / f"{name}.stamp").is_file() and (target.parent / f"{name}.stamp").read_text() == stamp:
        return target
    print(f"generating the {workload.name} workload of {period} …", flush=True)
    make_workspace(workload, target, period=period)
    (target.parent / f"{name}.stamp").write_text(stamp)
    return target


# A measurement of this machine moves by 15–30 % from one run to the next (xl by 30 %: 56 s and 73 s on
# one afternoon): every workload is taken more than once, xl twice (its mean) as a turn takes 8 minutes.
REPEATS = {"typical": 7, "large": 3, "xl": 2}


def our_run(workspace: Path, period: str = "2026-10") -> dict:
    return measured([sys.executable, "-m", "compensation_report", "run", "-w", str(workspace), "--period", period,
                     "--no-email"])


def medians(runs: list[dict]) -> dict:
    """Each measured figure (times, memory) the median of its runs; the rest from the first run; every wall time."""
    return {**runs[0], **{key: median(run[key] for run in runs) for key in MEASURED if key in runs[0]},
            "walls": [run["wall_s"] for run in runs], "runs": runs}


MEASURED = ("wall_s", "cpu_s", "peak_mb", "tree_rss_mb", "tree_pss_mb", "read_s", "write_s")


def fixed_runs() -> tuple[dict, dict]:
    """The fixed cost (what a run takes before the lines count): our run on the smallest real inbox
    (one workbook, one incident, one loss line, one customer: reading children, a pricing pass, every
    sheet with a row), and, for comparison, on an empty inbox (no reading, no pricing, an empty report)."""
    smallest = fresh_copy(template(WORKLOADS["smallest"]), WORK / "smallest" / "run")
    empty = fresh_copy(template(WORKLOADS["typical"]), WORK / "empty" / "run",
                       ignore=lambda folder, names: names if Path(folder).name == "inbox" else [])
    return our_run(smallest), our_run(empty)


def fresh_copy(source: Path, target: Path, ignore=None) -> Path:
    """A new copy of a generated workspace; copy2 keeps the settled modification times of its inbox."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=ignore)
    return target


# Month 12: December 2026 after January to November (the sample standard is valid from January 2026).
HISTORY, MONTH_12 = [f"2026-{m:02d}" for m in range(1, 12)], "2026-12"


def history_template(workload: Workload) -> Path:
    """A workspace holding the workload's eleven months before December 2026, each run into it as its
    own month (ledger, configuration and standard; the archived workbooks and reports left out, as
    the run does not read them). Rebuilt when the generator, the standard or our code changed."""
    code = b"".join(p.read_bytes() for p in sorted((BENCH.parent / "compensation_report").glob("*.py")))
    stamp = hashlib.sha256((BENCH / "workload.py").read_bytes() + repr(workload).encode() + code
                           + (BENCH.parent / "sample_inputs" / "rates" / "rates.xlsx").read_bytes()).hexdigest()
    target = WORK / workload.name / "history"
    stamp_file = WORK / workload.name / "history.stamp"
    if stamp_file.is_file() and stamp_file.read_text() == stamp:
        return target
    shutil.rmtree(target, ignore_errors=True)
    for period in HISTORY:
        print(f"generating and running {workload.name} {period} into the history …", flush=True)
        month = make_workspace(workload, WORK / workload.name / "month", period=period)
        if not target.exists():
            shutil.copytree(month, target, ignore=lambda folder, names: names if Path(folder).name == "inbox" else [])
        for book in sorted((month / "inbox").iterdir()):
            shutil.move(str(book), target / "inbox" / book.name)
        done = subprocess.run([sys.executable, "-m", "compensation_report", "run", "-w", str(target), "--period",
                               period, "--no-email"], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the history run of {period} failed:\n{done.stdout}\n{done.stderr}")
        for folder in ("archive", "reports", "logs"):
            shutil.rmtree(target / folder, ignore_errors=True)
    shutil.rmtree(WORK / workload.name / "month", ignore_errors=True)
    stamp_file.write_text(stamp)
    return target


def month_12(history: Path, december: Path) -> tuple[dict, dict]:
    """Our run of December fresh, and into a copy of the history (the same workbooks in its inbox)."""
    fresh = our_run(fresh_copy(december, WORK / "month12" / "fresh"), MONTH_12)
    workspace = fresh_copy(history, WORK / "month12" / "run")
    for book in sorted((december / "inbox").iterdir()):
        shutil.copy2(book, workspace / "inbox" / book.name)
    return fresh, our_run(workspace, MONTH_12)


def bench(workload: Workload, with_history: bool = False) -> dict:
    """Ours, the fixed cost, the floor and the peer, taken in turn REPEATS times (so that a slow spell of
    the machine falls on all of them alike); the median of each. `with_history`: also, in each turn,
    the same month run into a workspace holding eleven earlier months of the workload."""
    source = template(workload)
    history = history_template(workload) if with_history else None
    december = template(workload, MONTH_12) if with_history else None
    workspace = WORK / workload.name / "run"
    report = workspace / "reports" / "2026-10" / "compensation_report_2026-10.xlsx"
    ours, fixed, empty, floors, peers, month1, month12 = [], [], [], [], [], [], []
    for turn in range(1, REPEATS[workload.name] + 1):
        fresh_copy(source, workspace)
        print(f"{workload.name} ({turn}/{REPEATS[workload.name]}): our run …", flush=True)
        ours.append(our_run(workspace))
        if history is not None:
            print(f"{workload.name} ({turn}/{REPEATS[workload.name]}): December fresh and as month 12 …", flush=True)
            fresh, after_history = month_12(history, december)
            month1.append(fresh)
            month12.append(after_history)
        print(f"{workload.name} ({turn}/{REPEATS[workload.name]}): the fixed cost …", flush=True)
        smallest, nothing = fixed_runs()
        fixed.append(smallest)
        empty.append(nothing)
        print(f"{workload.name} ({turn}/{REPEATS[workload.name]}): floor …", flush=True)
        floor_run = measured([sys.executable, str(BENCH / "floor.py"), str(source / "inbox"), str(report)])
        floor = json.loads(floor_run["stdout"])
        floors.append({**floor, "wall_s": floor["read_s"] + floor["write_s"]})
        print(f"{workload.name} ({turn}/{REPEATS[workload.name]}): peer …", flush=True)
        peers.append(measured([sys.executable, str(BENCH / "peer.py"), str(source / "inbox"),
                               str(WORK / workload.name / "peer.xlsx")]))
    floor, peer = medians(floors), medians(peers)
    # ratios within each turn, then their median: a turn's runs met the same state of the machine
    return {"workload": workload, "ours": medians(ours), "fixed": medians(fixed), "empty": medians(empty),
            "floor": floor, "floor_s": floor["wall_s"],
            "peer": peer, "peer_s": peer["wall_s"], "peer_mb": peer["peak_mb"],
            "ours_floor": median(o["wall_s"] / f["wall_s"] for o, f in zip(ours, floors)),
            "peer_ours": median(p["wall_s"] / o["wall_s"] for p, o in zip(peers, ours)),
            **({"month1": medians(month1), "month12": medians(month12),
                "month12_ours": median(m["wall_s"] / f["wall_s"] for m, f in zip(month12, month1))}
               if month12 else {})}


def table(results: list[dict]) -> str:
    head = ("| workload | workbooks | loss lines | ours wall s | ours CPU s | ours peak MB | floor s (read + write) "
            "| cells read / written | peer s | ours / floor | peer / ours | ours µs per line | above the fixed cost |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        w, ours = r["workload"], r["ours"]
        lines.append(
            f"| {w.name} | {w.workbooks:,} | {w.lines:,} | {ours['wall_s']:.1f} | {ours['cpu_s']:.1f} | "
            f"{ours['peak_mb']:,.0f} | {r['floor_s']:.1f} ({r['floor']['read_s']:.1f} + {r['floor']['write_s']:.1f}) | "
            f"{r['floor']['cells_read']:,} / {r['floor']['cells_written']:,} | {r['peer_s']:.1f} | "
            f"{r['ours_floor']:.2f} | {r['peer_ours']:.2f} | "
            f"{ours['wall_s'] / w.lines * 1e6:.0f} | {per_line(r):.0f} |")
    marginal = [per_line(r) for r in results]
    above_empty = [per_line(r, "empty") for r in results]
    fixed = medians([run for r in results for run in r["fixed"]["runs"]])
    empty = medians([run for r in results for run in r["empty"]["runs"]])
    lines += ["", f"Fixed cost (our run on the smallest real inbox: one workbook, one incident, one loss line), "
              f"in every turn: {fixed['wall_s']:.1f} s wall, {fixed['peak_mb']:,.0f} MB. Cost per line above it: "
              f"{spread_of(marginal)}. Above our run on an empty inbox instead ({empty['wall_s']:.1f} s): "
              f"{spread_of(above_empty)}.", "",
              "Ours, the fixed costs, the floor and the peer were taken in turn (ours, smallest, empty, floor, peer; "
              "again …). Each figure is the median of its runs; the two ratios are the medians of each turn's ratio. "
              "Every wall time, in seconds:", ""]
    lines += [f"- {r['workload'].name}: ours {spread(r['ours'])}; smallest {spread(r['fixed'])}; "
              f"empty {spread(r['empty'])}; floor {spread(r['floor'])}; peer {spread(r['peer'])}"
              + (f"; December fresh {spread(r['month1'])}, as month 12 {spread(r['month12'])}" if "month12" in r
                 else "") for r in results]
    lines += ["", "Peak memory of the whole process tree (the run and its reading children; /proc sampled every "
              "0.1 s): the sum of proportional set sizes (a page shared by n processes counts 1/n in each: what "
              "the tree takes from the machine), and the sum of resident sets (shared pages counted in every "
              "process: an upper bound), median of the turns, MB:", ""]
    lines += [f"- {r['workload'].name}: {tree_memory(r['ours'])}" for r in results]
    for r in results:
        if "month12" in r:
            m, f = r["month12"], r["month1"]
            lines += ["", f"**Month 12** ({r['workload'].name}): a {r['workload'].name} December run into a workspace "
                      f"whose ledger holds January to November, each month of the same size, against the same "
                      f"December in a fresh workspace, in the same turns: {m['wall_s']:.1f} s against "
                      f"{f['wall_s']:.1f} s, **{r['month12_ours']:.2f}×** (median of each turn's ratio). Process "
                      f"tree: {tree_memory(m)} as month 12; {tree_memory(f)} fresh."]
    return "\n".join(lines)


def tree_memory(run: dict) -> str:
    return f"{run['tree_pss_mb']:,.0f} proportional, {run['tree_rss_mb']:,.0f} resident"


def spread(run: dict) -> str:
    return ", ".join(f"{wall:.1f}" for wall in run["walls"])


def per_line(result: dict, fixed: str = "fixed") -> float:
    """µs per loss line of what the run took beyond the fixed cost measured in the same turns."""
    return (result["ours"]["wall_s"] - result[fixed]["wall_s"]) / result["workload"].lines * 1e6


def spread_of(figures: list[float]) -> str:
    """The lowest and highest, and how far they lie from their middle."""
    middle = (max(figures) + min(figures)) / 2
    return f"{min(figures):.0f}–{max(figures):.0f} µs, {middle:.0f} µs ± {(max(figures) - middle) / middle:.0%}"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    packages = ", ".join(f"{name} {version(name)}" for name in
                         ("pandas", "python-calamine", "XlsxWriter", "openpyxl", "compensation-report"))
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {packages}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xl", action="store_true", help="also the xl workload (4 × large)")
    parser.add_argument("--only", help="comma-separated workload names")
    parser.add_argument("--no-history", action="store_true",
                        help="leave out month 12 (the large month after eleven large months: about 15 minutes to "
                             "build once, kept in bench/.work until the code changes)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else ["typical", "large"] + (["xl"] if args.xl else [])
    results = [bench(WORKLOADS[name], with_history=name == "large" and not args.no_history) for name in names]
    text = table(results)
    print(text)
    (BENCH / "RESULTS.md").write_text(RESULTS.format(date=date.today().isoformat(), machine=machine(), table=text,
                                                     notes=(BENCH / "NOTES.md").read_text(encoding="utf-8")),
                                      encoding="utf-8")
    print(f"written to {BENCH / 'RESULTS.md'}")


RESULTS = """# Benchmark results

Written by `make bench` on {date}.
Machine: {machine}.

{table}

- **ours**: `compensation-report run --no-email` end to end, as a subprocess (reading, checking, pricing,
  ledger, report).
- **floor**: python-calamine reading every sheet of the same input workbooks, plus XlsxWriter writing the
  same cells in the same sheet shapes as our report (values only; loading them is not timed).
- **peer**: pandas `read_excel` (openpyxl) of every workbook and `to_excel` (openpyxl) of one joined lines
  sheet, with no pricing at all.

{notes}
"""

if __name__ == "__main__":
    main()
