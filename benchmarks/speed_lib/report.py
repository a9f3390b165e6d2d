"""speed.md from the speed benchmark's results (benchmarks/speed.py)."""

from __future__ import annotations

RSS_LIMIT_MB = 1024.0
TARGET_RATE = 44100


def _fmt(rate: int, ch: int) -> str:
    return f"{rate / 1000:g} kHz {'mono' if ch == 1 else 'stereo'}"


def _length(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _when(section: dict) -> str:
    return (f"`{section['command']}`, {section['when']}, load average {section['load']} before, "
            f"{section.get('load_after', '?')} after")


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def targets(results: dict) -> list[str]:
    rows = results.get("formats", {}).get("rows", [])
    lines = ["| target | at | measured | met |", "|---|---|---|---|"]
    for ch in (1, 2):
        at = [r for r in rows if r["rate"] == TARGET_RATE and r["channels"] == ch]
        if not at:
            continue
        by = {r["name"]: r for r in at}
        ana = next(r for r in at if r["name"].startswith("analysis"))
        full = by["process_item, typical route forced"]
        restore_cpu = full["cpu_s"] - ana["cpu_s"]
        seconds = ana["x_realtime"] * ana["cpu_s"]
        f = _fmt(TARGET_RATE, ch)
        lines.append(f"| analysis alone <= 3x the decode + encode floor | {f} | {ana['x_floor']:.1f}x the floor | "
                     f"{_met(ana['x_floor'] <= 3)} |")
        lines.append(f"| analysis >= 300x real time per core | {f} | {ana['x_realtime']:.1f}x | "
                     f"{_met(ana['x_realtime'] >= 300)} |")
        lines.append(f"| full chain, typical route (remove_dc, declick, dehum, denoise) >= 30x real time per core | {f} | "
                     f"{full['x_realtime']:.1f}x (process_item: analysis, restore, measures after, write, hash; "
                     f"restore stage alone {seconds / restore_cpu:.1f}x) | {_met(full['x_realtime'] >= 30)} |")
        for r in (r for r in at if r["group"] == "restorer"):
            if r.get("error"):
                lines.append(f"| restorer {r['name']} >= 100x real time per core | {f} | failed: {r['error']} | n/a |")
            else:
                lines.append(f"| restorer {r['name']} >= 100x real time per core | {f} | {r['x_realtime']:.1f}x | "
                             f"{_met(r['x_realtime'] >= 100)} |")
    rss = results.get("rss", {}).get("rows", [])
    if rss:
        worst = max(rss, key=lambda r: r["peak_rss_mb"])
        lines.append(f"| peak RSS per worker < 1 GB whatever the file length | {len(rss)} files, "
                     f"{_length(min(r['seconds'] for r in rss))} to {_length(max(r['seconds'] for r in rss))} | "
                     f"{worst['peak_rss_mb']:.0f} MB at most ({_fmt(worst['rate'], worst['channels'])}, "
                     f"{_length(worst['seconds'])}) | {_met(worst['peak_rss_mb'] < RSS_LIMIT_MB)} |")
    return lines


def format_table(section: dict) -> list[str]:
    rows = section["rows"]
    fmts = sorted({(r["rate"], r["channels"]) for r in rows})
    names = list(dict.fromkeys((r["group"], r["name"]) for r in rows))
    cell = {(r["group"], r["name"], r["rate"], r["channels"]): r for r in rows}
    lines = ["| group | op | " + " | ".join(_fmt(*f) for f in fmts) + " |", "|---|---|" + "---|" * len(fmts)]
    for group, name in names:
        cells = []
        for f in fmts:
            r = cell.get((group, name, *f))
            if r is None:
                cells.append("")
            elif r.get("error") and not r["cpu_s"]:
                cells.append("failed")
            else:
                cells.append(f"{r['x_realtime']:.0f}x ({r['x_floor']:.2f})")
        lines.append(f"| {group} | {name} | " + " | ".join(cells) + " |")
    return lines


def notes(section: dict) -> list[str]:
    rows = section["rows"]
    out = []
    rest = {r["name"]: r for r in rows if r["group"] == "restorer" and r.get("reread")}
    if rest:
        out.append("Restorers run window by window with context: on a long file each kept second costs "
                   + ", ".join(f"{n} {r['reread']:.2f}x" for n, r in rest.items())
                   + f" seconds of processing (10 s blocks, context either side), included in the figures above "
                     f"(less on a {section['seconds']:g} s clip, whose first and last blocks have context on one side).")
    for r in rows:
        if r["group"] == "pipeline" and r["name"].startswith("process_item") and r["rate"] == TARGET_RATE:
            out.append(f"{r['name']}, {_fmt(r['rate'], r['channels'])}: status {r['status']}, chain "
                       f"{' -> '.join(r['chain']) or '(none)'}" + (f", error {r['error']}" if r.get("error") else ""))
    errors = [r for r in rows if r.get("error")]
    for r in errors:
        out.append(f"{r['name']} at {_fmt(r['rate'], r['channels'])}: {r['error']}")
    return [f"- {n}" for n in out]


def budget_lines(section: dict) -> list[str]:
    """Where the typical route's CPU goes at 44.1 kHz: each part's ms per audio second, summed, and
    what process_item measured as a whole (the parts were timed apart, on their own degraded clips)."""
    out = []
    for ch in (1, 2):
        at = {r["name"]: r for r in section["rows"] if r["rate"] == TARGET_RATE and r["channels"] == ch}
        if not at:
            continue
        full = at.get("process_item, typical route forced")
        if not full or not full.get("chain"):
            continue
        seconds = full["x_realtime"] * full["cpu_s"]
        parts = [(f"detector {r['name']}", r) for r in section["rows"]
                 if r["rate"] == TARGET_RATE and r["channels"] == ch and r["group"] == "detector"]
        parts += [(f"analysis: {n}", at[n]) for n in at if at[n]["group"] == "analysis part" and not n.startswith("measures")]
        parts += [(f"restorer {op}", at[op]) for op in full["chain"] if op in at]
        parts += [("measures after restore (as process_item takes them on this route: every detector but wow, "
                   "hum on the found family; loudness, true peak)",
                   at["measures (after restore, as on the typical route)"]), ("decode + FLAC encode", at["decode + FLAC encode"])]
        ms = [(name, 1000 / r["x_realtime"]) for name, r in parts if r.get("x_realtime")]
        total = sum(v for _, v in ms)
        out += [f"Typical route at {_fmt(TARGET_RATE, ch)}: CPU ms per second of audio, each part timed alone "
                f"(sum {total:.1f} ms; process_item measured {1000 * full['cpu_s'] / seconds:.1f} ms).", "",
                "| part | ms per audio s | share of the sum |", "|---|---|---|"]
        out += [f"| {name} | {v:.2f} | {100 * v / total:.0f} % |" for name, v in sorted(ms, key=lambda kv: -kv[1])]
        out.append("")
    return out


def profile_lines(prof: dict) -> list[str]:
    lines = [f"cProfile at {_fmt(prof['rate'], prof['channels'])}, {prof['seconds']:g} s of audio (self time: the "
             "function itself, not what it calls; cProfile inflates pure-Python code a little).", "",
             "| run | profiled s | top functions by self time (share of the run) |", "|---|---|---|"]
    for name, p in prof.items():
        if not isinstance(p, dict) or "top" not in p:
            continue
        tops = "; ".join(f"`{t['where']}` {100 * t['share']:.0f} %" for t in p["top"] if t["share"] >= 0.02)
        lines.append(f"| {name} | {p['total_s']:.2f} | {tops} |")
    return lines


def rss_lines(section: dict) -> list[str]:
    lines = ["| format | length | file | float32 audio | peak RSS | RSS after imports | process_item wall | status, chain |",
             "|---|---|---|---|---|---|---|---|"]
    for r in section["rows"]:
        length = _length(r["seconds"])
        lines.append(f"| {_fmt(r['rate'], r['channels'])} | {length} | {r['file_mb']:.0f} MB | {r['float32_mb']:.0f} MB | "
                     f"{r['peak_rss_mb']:.0f} MB | {r['import_rss_mb']:.0f} MB | {r['total_s']:.0f} s | "
                     f"{r['status']}, {' -> '.join(r['chain'])} |")
    lines.append("")
    for rate, ch in sorted({(r["rate"], r["channels"]) for r in section["rows"]}):
        rows = sorted((r for r in section["rows"] if (r["rate"], r["channels"]) == (rate, ch)), key=lambda r: r["seconds"])
        peaks = [r["peak_rss_mb"] for r in rows]
        lines.append(f"- {_fmt(rate, ch)}: peak {min(peaks):.0f} to {max(peaks):.0f} MB over {_length(rows[0]['seconds'])} "
                     f"to {_length(rows[-1]['seconds'])} ({max(peaks) - peaks[0]:+.0f} MB over the shortest file at most).")
    return lines


def throughput_lines(tp: dict) -> list[str]:
    flows = {int(k): v for k, v in tp["flow"].items()}
    audio_s = len(tp["files"]) * tp["seconds"]
    lines = [f"{len(tp['files'])} files of {tp['seconds']:.0f} s from the corpus's validation clips (benchmarks/scale.py's "
             "throughput section, reused: 16 kHz mono, 44.1 kHz mono and stereo, 48 kHz stereo, two or three kinds "
             "each), the nightly flow on local Ray with 2 CPUs.", "",
             "| run | wall | items/s (first to last record) | x real time (whole restore stage) | statuses |",
             "|---|---|---|---|---|",
             f"| bare process_item, one thread | {tp['bare_mean_s']:.1f} s | {1 / tp['bare_per_item_s']:.3f} | "
             f"{audio_s / tp['bare_mean_s']:.1f}x | |"]
    for w in (1, 2):
        rate = tp[f"throughput_{w}w"]
        lines.append(f"| nightly flow, Ray, {w} worker{'s' if w > 1 else ''} | {flows[w]['wall_s']:.1f} s | "
                     f"{tp[f'steady_{w}w']:.3f} | {rate * tp['seconds']:.1f}x | {flows[w]['statuses']} |")
    lines += ["", f"Scaling 2 workers / 1: {tp['scaling_ratio']:.2f} (first to last record), "
              f"{tp['scaling_ratio_stage']:.2f} (whole restore stage), on 2 cores shared with other jobs. "
              f"process_item's own time inside the 1-worker actor over its bare time: {tp['worker_vs_bare']:.2f} "
              f"(bare runs before and after the flows: {tp['bare_a_s']:.0f} s and {tp['bare_b_s']:.0f} s); "
              f"Prefect + Ray over process_item's own time in the actor: {100 * tp['overhead_steady_vs_worker']:+.1f} %. "
              "Wall-time figures at this load are not reliable; the per-core table above (CPU time) is."]
    return lines


def render(results: dict) -> str:
    lines = ["# Speed benchmark (issue 10)", "",
             f"{results['machine']}; `make bench-speed` (benchmarks/speed.py"
             f"{', --quick' if results.get('quick') else ''}). One thread everywhere (torch, OpenMP, OpenBLAS, MKL). "
             "Each section says when it ran and the machine's load average (2 cores shared with other jobs).", ""]
    fm = results.get("formats")
    lines += ["## Targets", ""] + targets(results) + [""]
    if fm:
        lines += ["## Real-time factor per core, and the ratio to the decode + FLAC encode floor", "", _when(fm), "",
                  f"Test-split clips looped to {fm['seconds']:g} s, degraded (moderate): each detector and restorer on the "
                  "clip with its own kind, the floor, analysis and process_item on the typical route's four kinds "
                  "(DC, clicks, hum, noise) as 24-bit FLAC. Each cell: audio seconds per CPU second on one thread "
                  f"(best of {fm['repeats']}), and in brackets the op's CPU time over the floor's (decode the same "
                  "file in 10 s blocks and encode it to FLAC, same run). Higher x is faster; the bracket is how many "
                  "floors the op costs.", ""]
        lines += format_table(fm) + [""] + notes(fm) + [""]
        lines += ["## Where the typical route's time goes", ""] + budget_lines(fm)
    if results.get("profile"):
        lines += ["## Hot spots", "", _when(results["profile"]), ""] + profile_lines(results["profile"]) + [""]
    if results.get("rss"):
        lines += ["## Peak RSS against file length", "", _when(results["rss"]), "",
                  "process_item on the typical route (policy forcing remove_dc, declick, dehum, denoise), each length "
                  "in a fresh process (its VmHWM: ru_maxrss would carry over the benchmark process's own peak, which "
                  "Linux keeps across the child's exec), the file written block by block from one degraded test-split "
                  "minute (8 kHz made from 16 kHz clips).", ""] + rss_lines(results["rss"]) + [""]
    if results.get("throughput"):
        lines += ["## Throughput with 1 and 2 Ray workers", "", _when(results["throughput"]), ""] \
            + throughput_lines(results["throughput"]) + [""]
    else:
        lines += ["## Throughput with 1 and 2 Ray workers", "", "Not run in this run (--quick or --skip-throughput).", ""]
    if results.get("ab"):
        lines += ["## Same-run A/B against an earlier commit", "", _when(results["ab"]), ""] + ab_lines(results["ab"]) + [""]
    lines += ["Raw numbers: speed.json.", ""]
    return "\n".join(lines)


def ab_lines(section: dict) -> list[str]:
    only = section.get("only") or []
    new = (f"the same code with this change's files from the working tree ({', '.join(only)})" if only
           else "the working tree")
    out = [f"process_item on the typical route (policy forcing remove_dc, declick, dehum, denoise), {section['commit']}'s "
           f"code against {new} on the same file, in turns, each side in a fresh process ({section['rounds']} "
           f"rounds of best-of-{section['repeats']}; the working tree's model weights on both sides). CPU time per audio "
           "second; the ratio is old CPU over new.", "",
           "| file | old ms per audio s | new ms per audio s | old x real time | new x real time | ratio | status (old / new) |",
           "|---|---|---|---|---|---|---|"]
    for r in section["rows"]:
        out.append(f"| {r['label']}, {r['seconds']:g} s | {1000 * r['old_cpu_s'] / r['seconds']:.1f} | "
                   f"{1000 * r['new_cpu_s'] / r['seconds']:.1f} | {r['old_x']:.1f}x | {r['new_x']:.1f}x | {r['ratio']:.2f} | "
                   f"{r['old_status']} / {r['new_status']} |")
    return out
