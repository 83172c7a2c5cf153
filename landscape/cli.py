"""Command line: ``python -m landscape fixed-points ...``.

Invalid input exits with status 2 and one line on stderr; no traceback ever
reaches the user.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .config import make_catalog_config, make_hierarchy_config
from .errors import (ComputationLimit, ConfigError, ExecutorUnavailable, FamilyError,
                     SettingsError)


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


TEACHER_HELP = ("orthonormal | correlated:RHO | norms:n1,..,nM | random:SEED | file:PATH "
                "(default: orthonormal)")
EXECUTOR_HELP = ("where chunks of starts run: local processes, or Celery workers "
                 "(celery --app landscape.worker worker) on REDIS_URL; default: celery when "
                 "REDIS_URL is set, else local")


def _teacher_options(command, students=True):
    if students:
        command.add_argument("--students", required=True, metavar="K", help="student width K")
    command.add_argument("--teachers", required=True, metavar="M", help="teacher width M")
    command.add_argument("--teacher", default="orthonormal", metavar="SPEC", help=TEACHER_HELP)
    command.add_argument("--dim", default="inf", metavar="D",
                         help="input dimension, or inf (default)")


def _search_options(command):
    command.add_argument("--starts", default="200", metavar="N", help="random starts (default 200)")
    command.add_argument("--seed", default="0", metavar="S", help="random seed (default 0)")
    command.add_argument("--init-dim", default="1000", metavar="N",
                         help="dimension the starts are drawn in when d = inf (default 1000)")


def _output_options(command, output=True):
    command.add_argument("--format", default="table", choices=("table", "json"))
    if output:
        command.add_argument("--output", metavar="FILE",
                             help="write the result here instead of stdout")


def build_parser():
    parser = _Parser(prog="python -m landscape",
                     description="The loss landscape of two-layer ReLU networks.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    fp = commands.add_parser(
        "fixed-points", help="catalog of fixed points of gradient flow from random starts",
        description="Run gradient flow from random starts, polish the endpoints with "
                    "Newton's method and classify them by their exact Hessian.")
    _teacher_options(fp)
    _search_options(fp)
    _output_options(fp)
    fp.add_argument("--executor", choices=("local", "celery"), help=EXECUTOR_HELP)
    fl = commands.add_parser(
        "flow", help="trajectory of the summary statistics (Q, M) under gradient flow or SGD",
        description="Integrate the ODE of (Q, M) for gradient flow (--lr 0) or one-pass SGD "
                    "(--lr > 0, the d -> inf limit), optionally against a weight-space SGD "
                    "simulation in dimension --simulate.")
    _teacher_options(fl)
    fl.add_argument("--lr", required=True, metavar="ETA", help="learning rate; 0 = gradient flow")
    fl.add_argument("--time", required=True, metavar="T", help="final time (steps/d for SGD)")
    fl.add_argument("--points", required=True, metavar="N", help="report N+1 equally spaced times")
    start = fl.add_mutually_exclusive_group()
    start.add_argument("--init", metavar="FILE", help='JSON {"Q": KxK, "M": KxM}')
    start.add_argument("--seed", default="0", metavar="S",
                       help="draw the start like catalog start 0 with this seed (default 0)")
    fl.add_argument("--init-dim", default="1000", metavar="N",
                    help="dimension the start is drawn in when d = inf (default 1000)")
    fl.add_argument("--start", default="0", metavar="I",
                    help="without --init: begin at catalog start I of --seed (default 0)")
    fl.add_argument("--simulate", metavar="D_SIM", help="also simulate SGD in this dimension")
    fl.add_argument("--runs", default="1", metavar="R", help="independent simulation runs")
    _output_options(fl)
    hi = commands.add_parser(
        "hierarchy", help="minima across widths, linked by function-preserving embeddings",
        description="Catalogs at each width plus an embedding search: every minimum and "
                    "index-1 saddle at width K is split or padded into width K + 1, nudged "
                    "and descended.")
    _teacher_options(hi, students=False)
    hi.add_argument("--widths", required=True, nargs="+", metavar="K")
    _search_options(hi)
    _output_options(hi)
    hi.add_argument("--executor", choices=("local", "celery"), help=EXECUTOR_HELP)
    pc = commands.add_parser(
        "precompute", help="fill the dashboard's cache for lecture presets or given views",
        description="Compute what the dashboard shows (catalog, flows, families, hierarchy) "
                    "for each preset, or for each --view (a dashboard URL query such as "
                    "'?students=8&teachers=8&dim=inf'), into the cache the dashboard uses "
                    "(LANDSCAPE_CACHE_DIR, or Redis when REDIS_URL is set).")
    pc.add_argument("--preset", action="append", default=[], metavar="NAME",
                    help="a preset by name (repeatable); default: all but the seed paper's experiment")
    pc.add_argument("--view", action="append", default=[], metavar="QUERY",
                    help="a dashboard URL query (repeatable)")
    pc.add_argument("--no-hierarchy", action="store_true",
                    help="skip the hierarchy (several catalogs per view)")
    pc.add_argument("--lecture", action="append", default=[], metavar="NAME",
                    help="every step of a shipped storyline (repeatable), e.g. spurious-minima")
    pc.add_argument("--list", action="store_true", help="list the presets and lectures and exit")
    pc.add_argument("--executor", choices=("local", "celery"),
                    help="where catalog chunks run (default: celery when REDIS_URL is set)")
    _output_options(pc, output=False)
    fa = commands.add_parser(
        "families", help="families of critical points for any width (block-symmetric ansatz)",
        description="Solve the reduced fixed-point equations of each k1 family (k1 students "
                    "anti-aligned with a teacher) at width K = M and classify each member by "
                    "the full Hessian.")
    _teacher_options(fa)
    fa.add_argument("--k1", nargs="+", metavar="K1", help="families to solve (default 0..min(K, 8))")
    fa.add_argument("--onset", action="store_true",
                    help="also find the smallest width from which each family stays a minimum "
                         "(walking down from its seed width)")
    _output_options(fa)
    ga = commands.add_parser(
        "gallery", help="screenshots of every preset x tab of the dashboard (headless Chromium)",
        description="Serve the dashboard on 127.0.0.1 (with the deployment's cache: run "
                    "precompute first for fast views), open each preset x tab in headless "
                    "Chromium, wait until its figures are drawn and save a PNG per view, "
                    "with index.html and gallery.json (time to drawn figures) in --output.")
    # dest "folder": main() writes a command's text to args.output, not wanted here
    ga.add_argument("--output", dest="folder", required=True, metavar="DIR",
                    help="folder for the PNGs")
    ga.add_argument("--preset", action="append", default=[], metavar="NAME",
                    help="a preset by name (repeatable); default: all presets")
    ga.add_argument("--tab", action="append", default=[], metavar="TAB",
                    help="a tab, e.g. flows-3d (repeatable); default: all tabs")
    ga.add_argument("--lecture", action="store_true", help="lecture mode (large type)")
    ga.add_argument("--size", default="1280x720", metavar="WxH",
                    help="viewport in pixels (default 1280x720)")
    ga.add_argument("--top", action="store_true",
                    help="screenshot the top of the page (default: scrolled to the tabs)")
    ga.add_argument("--timeout", default="120", metavar="S",
                    help="seconds to wait for a view's figures (default 120)")
    ga.set_defaults(format="table")
    add_paths_parser(commands)
    return parser


def run_gallery(args):
    """The gallery subcommand: one line per screenshot, the folder's index.html last."""
    import os
    import re

    from . import gallery
    from .config import parse_float

    match = re.fullmatch(r"(\d{3,4})x(\d{3,4})", args.size.strip())
    if not match:
        raise ConfigError("--size must look like 1280x720")
    timeout = parse_float("timeout", args.timeout, 1, 3600)
    report = (lambda r: print(f"{r['preset']} / {r['label']}: "
                              + ("not drawn in time" if r["seconds"] is None
                                 else f"{r['seconds']:.1f} s") + f" -> {r['file']}",
                              file=sys.stderr, flush=True))
    records = gallery.run(args.folder, args.preset, args.tab, lecture=args.lecture,
                          width=int(match[1]), height=int(match[2]), timeout=timeout,
                          report=report, top=args.top)
    late = sum(r["seconds"] is None for r in records)
    return (f"{len(records)} screenshots in {args.folder}"
            + (f" ({late} not drawn in time)" if late else "")
            + f"; open {os.path.join(args.folder, 'index.html')}\n")


def progress_line(done, total, stage):
    """The command line's progress report on a terminal: one line, rewritten."""
    print(f"\r{stage}: {done}/{total}\033[K", end="" if done < total else "\n",
          file=sys.stderr, flush=True)


def _progress():
    return progress_line if sys.stderr.isatty() else None


def _render(result, args, indent=None):
    if args.format == "json":
        return json.dumps(result.to_json(), indent=indent) + "\n"
    return result.summary()


def run_fixed_points(args):
    from .methods.catalog import find_fixed_points
    from .running.service import check_catalog
    from .settings import executor_from_env

    config = make_catalog_config(
        students=args.students, teachers=args.teachers, teacher=args.teacher, dim=args.dim,
        starts=args.starts, seed=args.seed, init_dim=args.init_dim)
    catalog = find_fixed_points(config, progress=_progress(),
                                executor=executor_from_env(args.executor))
    check_catalog(catalog.to_json())      # no fixed point or NaN: exit 3 with the reason
    return _render(catalog, args, indent=1)


def run_flow_command(args):
    from .config import make_flow_config
    from .methods.flows import run_flow

    config = make_flow_config(
        students=args.students, teachers=args.teachers, teacher=args.teacher, dim=args.dim,
        lr=args.lr, time=args.time, points=args.points, seed=args.seed,
        init_dim=args.init_dim, init=args.init, simulate=args.simulate, runs=args.runs,
        start=args.start)
    return _render(run_flow(config), args)


def run_families(args):
    from .config import make_families_config
    from .methods.families import compute_families

    config = make_families_config(args.students, args.teachers, args.teacher, args.dim,
                                  args.k1, args.onset)
    try:
        return _render(compute_families(config), args)
    except FamilyError as exc:
        raise ConfigError(str(exc)) from None



def run_hierarchy(args):
    from .methods.hierarchy import build_hierarchy
    from .settings import executor_from_env

    config, widths = make_hierarchy_config(args.teachers, args.widths, args.teacher, args.dim,
                                           args.starts, args.seed, args.init_dim)
    report = lambda done, total, stage: print(f"{stage}: {done}/{total}", file=sys.stderr,
                                              flush=True)
    hierarchy = build_hierarchy(config, widths, progress=report,
                                executor=executor_from_env(args.executor))
    return _render(hierarchy, args)


def run_precompute(args):
    from .ui import lectures, precompute, state

    if args.list:
        return ("presets:\n" + "".join(f"  {name}\n" for name in state.PRESETS)
                + "lectures:\n" + "".join(f"  {name}\n" for name in lectures.names()))
    from .settings import executor_from_env

    executor = executor_from_env(args.executor)
    report = (lambda text: print(text, file=sys.stderr, flush=True))
    result = precompute.run(args.preset, args.view, executor=executor,
                            hierarchy=not args.no_hierarchy, report=report,
                            lecture_names=args.lecture)
    if args.format == "json":
        return json.dumps(result, indent=1) + "\n"
    lines = [f"cache: {result['cache']}"]
    for view in result["views"]:
        total = sum(view["seconds"].values())
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in view["seconds"].items())
        lines.append(f"{view['view']}: {total:.1f} s ({parts})")
    return "\n".join(lines) + "\n"


COMMANDS = {"fixed-points": run_fixed_points, "flow": run_flow_command,
            "hierarchy": run_hierarchy, "families": run_families,
            "precompute": run_precompute, "gallery": run_gallery}


# ----------------------------------------------------------------------------- paths
def add_paths_parser(commands):
    """The ``paths`` subcommand: connections between the minima of a catalog."""
    pa = commands.add_parser(
        "paths", help="barriers between the minima of a catalog, and their disconnectivity tree",
        description="Compute the fixed-point catalog, then connect each spurious minimum to "
                    "the global minimum and to its nearest minima by climbing-image nudged "
                    "elastic bands (cross-checked by the string method); every top is "
                    "polished and confirmed as an index-1 saddle by its exact Hessian.")
    pa.add_argument("--students", required=True, metavar="K", help="student width K")
    pa.add_argument("--teachers", required=True, metavar="M", help="teacher width M")
    pa.add_argument("--teacher", default="orthonormal", metavar="SPEC",
                    help="orthonormal | correlated:RHO | norms:n1,..,nM | random:SEED | "
                         "file:PATH (default: orthonormal)")
    pa.add_argument("--dim", default="inf", metavar="D", help="input dimension, or inf (default)")
    pa.add_argument("--starts", default="200", metavar="N", help="random starts (default 200)")
    pa.add_argument("--seed", default="0", metavar="S", help="random seed (default 0)")
    pa.add_argument("--images", default="24", metavar="N",
                    help="images per band, endpoints included (default 24)")
    pa.add_argument("--format", default="table", choices=("table", "json"))
    pa.add_argument("--output", metavar="FILE", help="write the result here instead of stdout")


def format_paths_table(result):
    c = result["config"]
    lines = [f"K={c['students']} M={c['teachers']} teacher={c['teacher']} d={c['dim']} "
             f"starts={c['starts']} seed={c['seed']} images={c['images']}  "
             f"({result['seconds']:.2f} s)", "", "minima:"]
    for m in result["minima"]:
        lines.append(f"  #{m['catalog_index']:<3} loss {m['loss']:<12.6g} {m['kind']:<15} "
                     f"share {100 * m['fraction']:5.1f}%")
    lines += ["", "connections:",
              f"  {'from':>4} {'to':>4} {'barrier':>11} {'saddle loss':>12} {'index':>5} "
              f"{'|grad|':>8} {'NEB-string':>10}  status"]
    for x in result["connections"]:
        s = x["saddle"]
        status = ("confirmed" if x["confirmed"] else "flat (no saddle)" if x["flat"]
                  else f"unconfirmed (sides: {x['ends']})")
        agreement = "-" if x["method_agreement"] is None else f"{x['method_agreement']:.1e}"
        lines.append(f"  {x['from']:>4} {x['to']:>4} {x['barrier']:>11.4g} {s['loss']:>12.6g} "
                     f"{s['index']:>5} {s['grad_norm']:>8.1e} {agreement:>10}  {status}")
    lines += ["", "disconnectivity tree (merges):"]
    for merge in result["tree"]["merges"]:
        left, right = merge["joins"]
        lines.append(f"  at loss {merge['loss']:.6g}: {left} + {right}")
    return "\n".join(lines) + "\n"


def run_paths(args):
    from .config import make_paths_config
    from .running.service import paths_result

    config = make_paths_config(
        students=args.students, teachers=args.teachers, teacher=args.teacher, dim=args.dim,
        starts=args.starts, seed=args.seed, images=args.images)
    result = paths_result(config)
    if args.format == "json":
        return json.dumps(result) + "\n"
    return format_paths_table(result)


COMMANDS["paths"] = run_paths


def check_writable(path):
    """Refuse an output file that cannot be written before computing what goes in it."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError(f"cannot write {path}: no such directory {folder}")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ConfigError(f"cannot write {path}: permission denied")


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        if getattr(args, "output", None):
            check_writable(args.output)
        text = COMMANDS[args.command](args)
        if getattr(args, "output", None):
            try:
                with open(args.output, "w", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError as exc:
                raise ConfigError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        else:
            sys.stdout.write(text)
        return 0
    except (UsageError, ConfigError, SettingsError) as exc:
        print(f"landscape: error: {exc}", file=sys.stderr)
        return 2
    except (ComputationLimit, ExecutorUnavailable) as exc:
        print(f"landscape: error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("landscape: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"landscape: internal error: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
