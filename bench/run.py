"""`make bench`: our run against the raw I/O floor and a plain pandas peer, per workload.

    python bench/run.py [--xl] [--only typical,large]

Each measurement runs in a fresh process: wall time, CPU time (user + system, children
included) and peak RSS (the largest process of the tree). Ours, the fixed cost (our run on the
smallest real inbox; on an empty one for comparison), the floor and the peer are taken in turn,
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
    import json, resource, subprocess, sys, time
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"status": done.returncode, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                      "peak_mb": usage.ru_maxrss / 1024, "stdout": done.stdout, "stderr": done.stderr[-2000:]}))
""")


def measured(command: list[str]) -> dict:
    result = json.loads(subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                                       text=True, check=True).stdout)
    if result["status"] not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{result['stderr']}")
    return result


def template(workload: Workload) -> Path:
    """The generated workspace, rebuilt only when the generator or the sample standard changed."""
    stamp = hashlib.sha256((BENCH / "workload.py").read_bytes() + repr(workload).encode()
                           + (BENCH.parent / "sample_inputs" / "rates" / "rates.xlsx").read_bytes()).hexdigest()
    target = WORK / workload.name / "template"
    if (target.parent / "stamp").is_file() and (target.parent / "stamp").read_text() == stamp:
        return target
    print(f"generating the {workload.name} workload …", flush=True)
    make_workspace(workload, target)
    (target.parent / "stamp").write_text(stamp)
    return target


# A measurement of this machine moves by 15–30 % from one run to the next (xl by 30 %: 56 s and 73 s on
# one afternoon): every workload is taken more than once, xl twice (its mean) as a turn takes 8 minutes.
REPEATS = {"typical": 7, "large": 3, "xl": 2}


def our_run(workspace: Path) -> dict:
    return measured([sys.executable, "-m", "compensation_report", "run", "-w", str(workspace), "--period", "2026-10",
                     "--no-email"])


def medians(runs: list[dict]) -> dict:
    """Each measured figure (times, memory) the median of its runs; the rest from the first run; every wall time."""
    return {**runs[0], **{key: median(run[key] for run in runs) for key in MEASURED if key in runs[0]},
            "walls": [run["wall_s"] for run in runs], "runs": runs}


MEASURED = ("wall_s", "cpu_s", "peak_mb", "read_s", "write_s")


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


def bench(workload: Workload) -> dict:
    """Ours, the fixed cost, the floor and the peer, taken in turn REPEATS times (so that a slow spell of
    the machine falls on all of them alike); the median of each."""
    source = template(workload)
    workspace = WORK / workload.name / "run"
    report = workspace / "reports" / "2026-10" / "compensation_report_2026-10.xlsx"
    ours, fixed, empty, floors, peers = [], [], [], [], []
    for turn in range(1, REPEATS[workload.name] + 1):
        fresh_copy(source, workspace)
        print(f"{workload.name} ({turn}/{REPEATS[workload.name]}): our run …", flush=True)
        ours.append(our_run(workspace))
        print(f"{workload.name} ({turn}/{REPEATS[workload.name]}): the fixed cost …", flush=True)
        smallest, nothing = fixed_runs()
        fixed.append(smallest)
        empty.append(nothing)
        print(f"{workload.name} ({turn}/{REPEATS[workload.name]}): floor …", flush=True)
        floor = json.loads(measured([sys.executable, str(BENCH / "floor.py"), str(source / "inbox"), str(report)])["stdout"])
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
            "peer_ours": median(p["wall_s"] / o["wall_s"] for p, o in zip(peers, ours))}


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
              f"empty {spread(r['empty'])}; floor {spread(r['floor'])}; peer {spread(r['peer'])}" for r in results]
    return "\n".join(lines)


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
    args = parser.parse_args()
    names = args.only.split(",") if args.only else ["typical", "large"] + (["xl"] if args.xl else [])
    results = [bench(WORKLOADS[name]) for name in names]
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
