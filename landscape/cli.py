"""Command line: ``python -m landscape fixed-points ...``.

Invalid input exits with status 2 and one line on stderr; no traceback ever
reaches the user.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from .config import inf_or_int, make_catalog_config
from .errors import (ComputationLimit, ConfigError, ExecutorUnavailable, FamilyError,
                     SettingsError)


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    parser = _Parser(prog="python -m landscape",
                     description="The loss landscape of two-layer ReLU networks.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    fp = commands.add_parser(
        "fixed-points", help="catalog of fixed points of gradient flow from random starts",
        description="Run gradient flow from random starts, polish the endpoints with "
                    "Newton's method and classify them by their exact Hessian.")
    fp.add_argument("--students", required=True, metavar="K", help="student width K")
    fp.add_argument("--teachers", required=True, metavar="M", help="teacher width M")
    fp.add_argument("--teacher", default="orthonormal", metavar="SPEC",
                    help="orthonormal | correlated:RHO | norms:n1,..,nM | random:SEED | "
                         "file:PATH (default: orthonormal)")
    fp.add_argument("--dim", default="inf", metavar="D", help="input dimension, or inf (default)")
    fp.add_argument("--starts", default="200", metavar="N", help="random starts (default 200)")
    fp.add_argument("--seed", default="0", metavar="S", help="random seed (default 0)")
    fp.add_argument("--init-dim", default="1000", metavar="N",
                    help="dimension the starts are drawn in when d = inf (default 1000)")
    fp.add_argument("--format", default="table", choices=("table", "json"))
    fp.add_argument("--output", metavar="FILE", help="write the result here instead of stdout")
    fp.add_argument("--executor", choices=("local", "celery"),
                    help="where chunks of starts run: local processes, or Celery workers "
                         "(celery --app landscape.worker worker) on REDIS_URL; default: "
                         "celery when REDIS_URL is set, else local")
    fl = commands.add_parser(
        "flow", help="trajectory of the summary statistics (Q, M) under gradient flow or SGD",
        description="Integrate the ODE of (Q, M) for gradient flow (--lr 0) or one-pass SGD "
                    "(--lr > 0, the d -> inf limit), optionally against a weight-space SGD "
                    "simulation in dimension --simulate.")
    fl.add_argument("--students", required=True, metavar="K")
    fl.add_argument("--teachers", required=True, metavar="M")
    fl.add_argument("--teacher", default="orthonormal", metavar="SPEC")
    fl.add_argument("--dim", default="inf", metavar="D",
                    help="input dimension used to draw the start (default inf)")
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
    fl.add_argument("--format", default="table", choices=("table", "json"))
    fl.add_argument("--output", metavar="FILE")
    hi = commands.add_parser(
        "hierarchy", help="minima across widths, linked by function-preserving embeddings",
        description="Catalogs at each width plus an embedding search: every minimum and "
                    "index-1 saddle at width K is split or padded into width K + 1, nudged "
                    "and descended.")
    hi.add_argument("--teachers", required=True, metavar="M")
    hi.add_argument("--widths", required=True, nargs="+", metavar="K")
    hi.add_argument("--teacher", default="orthonormal", metavar="SPEC")
    hi.add_argument("--dim", default="inf", metavar="D")
    hi.add_argument("--starts", default="200", metavar="N")
    hi.add_argument("--seed", default="0", metavar="S")
    hi.add_argument("--init-dim", default="1000", metavar="N")
    hi.add_argument("--format", default="table", choices=("table", "json"))
    hi.add_argument("--output", metavar="FILE")
    pc = commands.add_parser(
        "precompute", help="fill the dashboard's cache for lecture presets or given views",
        description="Compute what the dashboard shows (catalog, flows, families, hierarchy) "
                    "for each preset, or for each --view (a dashboard URL query such as "
                    "'?students=8&teachers=8&dim=inf'), into the cache the dashboard uses "
                    "(LANDSCAPE_CACHE_DIR, or Redis when REDIS_URL is set).")
    pc.add_argument("--preset", action="append", default=[], metavar="NAME",
                    help="a preset by name (repeatable); default: all presets")
    pc.add_argument("--view", action="append", default=[], metavar="QUERY",
                    help="a dashboard URL query (repeatable)")
    pc.add_argument("--no-hierarchy", action="store_true",
                    help="skip the hierarchy (several catalogs per view)")
    pc.add_argument("--list", action="store_true", help="list the presets and exit")
    pc.add_argument("--executor", choices=("local", "celery"),
                    help="where catalog chunks run (default: celery when REDIS_URL is set)")
    pc.add_argument("--format", default="table", choices=("table", "json"))
    fa = commands.add_parser(
        "families", help="families of critical points for any width (block-symmetric ansatz)",
        description="Solve the reduced fixed-point equations of each k1 family (k1 students "
                    "anti-aligned with a teacher) at width K = M and classify each member by "
                    "the full Hessian.")
    fa.add_argument("--students", required=True, metavar="K")
    fa.add_argument("--teachers", required=True, metavar="M")
    fa.add_argument("--teacher", default="orthonormal", metavar="SPEC")
    fa.add_argument("--dim", default="inf", metavar="D")
    fa.add_argument("--k1", nargs="+", metavar="K1", help="families to solve (default 0..min(K, 8))")
    fa.add_argument("--onset", action="store_true",
                    help="also find the smallest width from which each family stays a minimum "
                         "(walking down from its seed width)")
    fa.add_argument("--format", default="table", choices=("table", "json"))
    fa.add_argument("--output", metavar="FILE")
    return parser


def _count(value):
    return "inf" if value == math.inf else str(value)


def format_catalog_table(catalog):
    c = catalog.config
    lines = [
        f"K={c.students} M={c.teachers} teacher={c.teacher.spec} d={'inf' if c.dim == math.inf else c.dim}"
        f" starts={c.starts} seed={c.seed}" + (f" init-dim={c.init_dim}" if c.dim == math.inf else ""),
        f"{len(catalog.fixed_points)} fixed points, global fraction {catalog.global_fraction:.3f}, "
        f"unconverged {catalog.unconverged}, dead-student endpoints "
        f"{sum(p.hits for p in catalog.dead_points)}, {catalog.seconds:.2f} s",
        "",
        f"{'#':>3} {'loss':>12} {'kind':<15} {'index':>5} {'flat':>5} {'min eig':>11} "
        f"{'hits':>6} {'share':>7} {'visits':>6}",
    ]
    for i, p in enumerate(catalog.fixed_points):
        lines.append(
            f"{i:>3} {p.loss:>12.6g} {p.kind:<15} {_count(p.index):>5} {_count(p.flat):>5} "
            f"{p.min_eigenvalue:>11.4g} {p.hits:>6} {100 * p.hits / c.starts:>6.1f}% {p.visits:>6}")
    if catalog.dead_points:
        lines += ["", "endpoints with dead (zero) students, where the loss is not differentiable:"]
    for p in catalog.dead_points:
        lines.append(f"  - loss {p.loss:.6g}, {p.dead} dead, {p.hits} hits "
                     f"({100 * p.hits / c.starts:.1f}%)")
    return "\n".join(lines) + "\n"


def _progress(done, total):
    print(f"\r{done}/{total} starts", end="" if done < total else "\n",
          file=sys.stderr, flush=True)


def run_fixed_points(args):
    from .methods.catalog import find_fixed_points

    config = make_catalog_config(
        students=args.students, teachers=args.teachers, teacher=args.teacher, dim=args.dim,
        starts=args.starts, seed=args.seed, init_dim=args.init_dim)
    from .settings import executor_from_env

    executor = executor_from_env(args.executor)
    catalog = find_fixed_points(config, progress=_progress if sys.stderr.isatty() else None,
                                executor=executor)
    from .running.service import check_catalog

    check_catalog(catalog.to_json())      # no fixed point or NaN: exit 3 with the reason
    if args.format == "json":
        return json.dumps(catalog.to_json(), indent=1) + "\n"
    return format_catalog_table(catalog)


def run_flow_command(args):
    import time

    from .version import ENGINE_VERSION
    from .config import make_flow_config
    from .methods.flows import run_flow

    config = make_flow_config(
        students=args.students, teachers=args.teachers, teacher=args.teacher, dim=args.dim,
        lr=args.lr, time=args.time, points=args.points, seed=args.seed,
        init_dim=args.init_dim, init=args.init, simulate=args.simulate, runs=args.runs,
        start=args.start)
    began = time.perf_counter()
    trajectory, simulation = run_flow(config)
    seconds = time.perf_counter() - began
    if args.format == "json":
        out = {"config": config.to_dict(), "engine_version": ENGINE_VERSION,
               "seconds": round(seconds, 4), **trajectory.to_json()}
        if simulation is not None:
            out["simulation"] = simulation.to_json()
        return json.dumps(out) + "\n"
    lines = [f"{'t':>10} {'loss':>12} {'mean diag Q':>12} {'max M':>9}"
             + (f" {'sim loss':>12}" if simulation is not None else "")]
    for i, t in enumerate(trajectory.t):
        row = (f"{t:>10.4g} {trajectory.loss[i]:>12.6g} "
               f"{np.mean(np.diag(trajectory.Q[i])):>12.6g} {trajectory.M[i].max():>9.4f}")
        if simulation is not None and i < simulation.t.size:
            row += f" {simulation.loss[:, i].mean():>12.6g}"
        lines.append(row)
    for name, result in (("ODE", trajectory), ("simulation", simulation)):
        if result is not None and result.diverged_at is not None:
            lines.append(f"{name} diverged at t = {result.diverged_at:.4g} "
                         "(learning rate too large for this width)")
    return "\n".join(lines) + f"\n({seconds:.2f} s)\n"


MAX_WIDTHS = 8
MAX_FAMILY_WIDTH = 100000
MAX_WRITTEN_TEACHERS = 2000
DEFAULT_FAMILIES = 8


def run_families(args):
    from .version import ENGINE_VERSION
    from .config import parse_dim, parse_int
    from .methods.families import families, onset, teacher_pattern
    from .maths.teachers import parse_teacher

    K = parse_int("students", args.students, 1, MAX_FAMILY_WIDTH)
    M = parse_int("teachers", args.teachers, 1, MAX_FAMILY_WIDTH)
    if K != M:
        raise ConfigError(f"families need K = M, got students {K} and teachers {M}")
    # The families need only the teachers' pattern (p, p'): very wide teachers are
    # read at a small width instead of being written out (M x M floats).
    if M <= MAX_WRITTEN_TEACHERS:
        setup = parse_teacher(args.teacher, M, error=ConfigError)
    elif not args.teacher.strip().lower().startswith(("orthonormal", "correlated:")):
        raise ConfigError(f"for more than {MAX_WRITTEN_TEACHERS} teachers, families take "
                          f"orthonormal or correlated:RHO")
    else:
        setup = parse_teacher(args.teacher, 3, error=ConfigError)
    dim = parse_dim(args.dim, 1)
    if dim < K:
        raise ConfigError(f"dim must be at least K = {K} for families, got {dim}")
    k1s = ([parse_int("k1", k, 0, K) for k in args.k1] if args.k1
           else list(range(0, min(K, DEFAULT_FAMILIES) + 1)))
    try:
        pattern = teacher_pattern(setup.P)
        members = families(K, setup.P if M <= MAX_WRITTEN_TEACHERS else pattern, dim, k1s)
        onsets = {m.k1: onset(m.k1, pattern, dim) for m in members} \
            if args.onset else {}
    except FamilyError as exc:
        raise ConfigError(str(exc)) from None
    if args.format == "json":
        rows = []
        for m in members:
            row = m.to_json()
            if args.onset:
                row["onset"] = onsets[m.k1]
            rows.append(row)
        return json.dumps({"config": {"students": K, "teachers": M, "teacher": setup.spec,
                                      "dim": inf_or_int(dim),
                                      "k1": k1s},
                           "engine_version": ENGINE_VERSION, "families": rows}) + "\n"
    lines = [f"{'k1':>3} {'loss':>12} {'kind':<15} {'min eig':>11} {'grad norm':>10}"
             + (f" {'onset':>6}" if args.onset else "")]
    for m in members:
        eig = "-" if m.min_eigenvalue is None else f"{m.min_eigenvalue:.4g}"
        grad = "-" if m.grad_norm is None else f"{m.grad_norm:.1e}"
        lines.append(f"{m.k1:>3} {m.loss:>12.6g} {m.kind:<15} {eig:>11} {grad:>10}"
                     + (f" {str(onsets[m.k1]):>6}" if args.onset else ""))
    return "\n".join(lines) + "\n"


def run_hierarchy(args):
    from .config import parse_int
    from .methods.hierarchy import build_hierarchy

    if len(args.widths) > MAX_WIDTHS:
        raise ConfigError(f"at most {MAX_WIDTHS} widths, got {len(args.widths)}")
    widths = [parse_int("widths", w, 1, 64) for w in args.widths]
    if len(set(widths)) != len(widths):
        raise ConfigError("widths must be distinct")
    config = make_catalog_config(
        students=widths[0], teachers=args.teachers, teacher=args.teacher, dim=args.dim,
        starts=args.starts, seed=args.seed, init_dim=args.init_dim)
    report = (lambda text: print(text, file=sys.stderr, flush=True))
    hierarchy = build_hierarchy(config, widths, progress=report)
    if args.format == "json":
        return json.dumps(hierarchy.to_json()) + "\n"
    lines = []
    for level in hierarchy.levels:
        lines.append(f"width {level.students}: global fraction "
                     f"{level.catalog.global_fraction:.3f}")
        for i, p in enumerate(level.catalog.fixed_points):
            lines.append(f"  {i:>3} loss {p.loss:<12.6g} {p.kind:<15} index {_count(p.index):>4} "
                         f"flat {_count(p.flat):>4}  hits {p.hits:>5}  embedding hits "
                         f"{p.embedding_hits:>4}  ({p.source})")
    lines.append("links:")
    for link in hierarchy.links:
        to = link["to"]
        lines.append(f"  {link['from']['students']}#{link['from']['index']} -> "
                     f"{to['students']}#{to['index']}{' (dead student)' if to.get('nondifferentiable') else ''}"
                     f"  {link['relation']} x{link['count']}")
    return "\n".join(lines) + "\n"


def run_precompute(args):
    from .ui import precompute, state

    if args.list:
        return "".join(f"{name}\n" for name in state.PRESETS)
    from .settings import executor_from_env

    executor = executor_from_env(args.executor)
    report = (lambda text: print(text, file=sys.stderr, flush=True))
    result = precompute.run(args.preset, args.view, executor=executor,
                            hierarchy=not args.no_hierarchy, report=report)
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
            "precompute": run_precompute}


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
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
