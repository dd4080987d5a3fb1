"""Command line: ``airbricks serve`` (the local workspace) and ``airbricks demo`` (the seed's pipeline)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from airbricks.workspace.config import CLOUDS, SPARK_JIT_MODES, default_class_cache

DESCRIPTION = (
    "airbricks: a local Databricks workspace for Airflow (serve) and the article's pipeline end to end on it (demo)."
)
#: ``airbricks serve``'s port unless told otherwise: stable, so an exported connection stays valid.
DEFAULT_PORT = 8765


class _ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows each option's default, except where there is none to show (the help says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, [], False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def parse_rule_text(text: str) -> dict[str, Any]:
    """A rule from the command line: compact JSON, or ``key=value,key=value`` with numbers and booleans."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"invalid JSON fault rule {text!r}: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError(f"a fault rule must be a JSON object, got {text!r}")
        return value
    rule: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"expected key=value in fault rule, got {item!r}")
        rule[key.strip()] = _scalar(raw.strip())
    return rule


def _scalar(raw: str) -> Any:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


def _serve(args: argparse.Namespace) -> int:
    from airbricks.workspace.server.serve import serve_forever

    try:
        faults = [parse_rule_text(text) for text in args.fault]
    except ValueError as exc:
        print(f"airbricks serve: --fault: {exc}", file=sys.stderr)
        return 2

    spark = _spark_wanted(args.spark)
    if spark is None:
        return 2
    for option, count in (("--default-pool", args.default_pool), ("--warm-kernels", args.warm_kernels)):
        if count < 0:
            print(f"airbricks serve: {option} {count}: use a number of processes, 0 or more (0: off)", file=sys.stderr)
            return 2
    default_start, default_stop = (0.0, 0.0) if spark else (2.0, 0.5)
    serve_forever(
        Path(args.data_dir),
        args.host,
        args.port,
        tls_port=args.tls_port if args.tls else None,
        token=args.token,
        user=args.user,
        cloud=args.cloud,
        cluster_start_seconds=default_start if args.cluster_start_seconds is None else args.cluster_start_seconds,
        cluster_stop_seconds=default_stop if args.cluster_stop_seconds is None else args.cluster_stop_seconds,
        faults=faults,
        fault_seed=args.fault_seed,
        spark=spark,
        max_spark_drivers=args.max_spark_drivers,
        spark_default_pool=args.default_pool,
        warm_kernels=args.warm_kernels if spark else 0,
        spark_driver_memory=args.spark_driver_memory,
        spark_packages=args.spark_packages,
        spark_jit=args.spark_jit,
        spark_class_cache=None
        if args.spark_class_cache == "off"
        else (Path(args.spark_class_cache) if args.spark_class_cache else default_class_cache()),
        auto_create_volumes=args.auto_create_volumes,
        fixtures=Path(args.fixtures) if args.fixtures else None,
        trigger_check_seconds=args.trigger_check_seconds,
    )
    return 0


def _spark_wanted(choice: str) -> bool | None:
    """``--spark auto`` (the default): Spark when pyspark and Java are here; ``on`` insists, ``off`` never."""
    if choice == "off":
        return False
    from airbricks.workspace.compute.spark.install import SparkNotAvailable, find_spark

    try:
        find_spark()
    except SparkNotAvailable as missing:
        if choice == "on":
            print(f"airbricks serve: --spark on: {missing}", file=sys.stderr)
            return None
        print(f"airbricks serve: clusters run without Spark ({missing})", file=sys.stderr)
        return False
    return True


def _demo(args: argparse.Namespace) -> int:
    from airbricks.demo import run_demo

    return run_demo(marker_delay=args.marker_delay, fail_notebook=args.fail_notebook)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airbricks", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{serve,demo}")
    shown = _ShowDefaults

    serve = sub.add_parser(
        "serve",
        help="run the local Databricks workspace",
        formatter_class=shown,
        description="Run a local Databricks workspace that the Airflow provider and databricks-sdk"
        " accept unmodified; prints how to connect.",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the REST API (and HTTPS) binds; loopback reaches this machine only, any other address"
        " exposes the token-protected API to that network (drivers and the metastore stay on 127.0.0.1)",
    )
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free one, printed)")
    serve.add_argument("--data-dir", default=".airbricks", help="where state, DBFS and volumes live")
    serve.add_argument("--token", default=None, help="the PAT clients must send (default: generated, kept 0600)")
    serve.add_argument(
        "--tls",
        action="store_true",
        help="also serve HTTPS (what databricks-sql-connector / DatabricksSqlOperator need): a CA and"
        " certificate are made in the data dir at first start; the CA file is printed",
    )
    serve.add_argument("--tls-port", type=int, default=DEFAULT_PORT + 1, help="the HTTPS port with --tls (0: any)")
    serve.add_argument(
        "--user",
        default="airbricks@localhost",
        help="the user the token belongs to (SCIM Me, creator_user_name, /Users/<user>)",
    )
    serve.add_argument(
        "--cloud",
        choices=CLOUDS,
        default="aws",
        help="the cloud the workspace looks like: its node types, and the cloud clients read",
    )
    serve.add_argument(
        "--spark",
        choices=("auto", "on", "off"),
        default="auto",
        help="real Spark drivers behind clusters (auto: when pyspark and Java 17+ are installed)",
    )
    serve.add_argument(
        "--max-spark-drivers",
        type=int,
        default=None,
        help="at most this many drivers at once (default: what this machine's memory fits)",
    )
    serve.add_argument(
        "--default-pool",
        type=int,
        default=1,
        metavar="N",
        help="idle Spark drivers kept warm for clusters that name no instance pool, so they start without a JVM"
        " start (about 0.9 GB of memory each; 0: off)",
    )
    serve.add_argument(
        "--warm-kernels",
        type=int,
        default=1,
        metavar="N",
        help="with Spark: notebook/Python run processes kept started with pyspark's Connect client imported (one"
        " per run, never reused; about 0.1 GB each; 0: off)",
    )
    serve.add_argument("--spark-driver-memory", default="1g", help="cap of every driver's spark.driver.memory")
    serve.add_argument(
        "--spark-packages",
        action="append",
        default=[],
        metavar="COORDINATES",
        help="Maven packages every driver loads (repeatable), e.g. io.delta:delta-spark_2.13:4.0.0"
        " to enable Delta Lake where Maven Central is reachable",
    )
    serve.add_argument(
        "--spark-jit",
        choices=SPARK_JIT_MODES,
        default="fast-start",
        help="fast-start: drivers JIT with C1 only, starting and answering short queries"
        " about twice as fast on few cores; full: the JVM's tiered JIT, for long CPU-bound jobs",
    )
    serve.add_argument(
        "--spark-class-cache",
        default=None,
        metavar="DIR|off",
        help="where the JVMs' class-data archives are kept (default: ~/.cache/airbricks/jvm-classes); off: none",
    )
    serve.add_argument(
        "--cluster-start-seconds",
        type=float,
        default=None,
        help="minimum PENDING -> RUNNING duration (default 2 without Spark, 0 with it: the driver's real start)",
    )
    serve.add_argument(
        "--cluster-stop-seconds",
        type=float,
        default=None,
        help="minimum TERMINATING duration (default 0.5 without Spark, 0 with it)",
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="RULE",
        help="a fault rule, as JSON or key=value,key=value (repeatable), e.g."
        " 'path=clusters/get,status=429,retry_after=1,count=2'",
    )
    serve.add_argument(
        "--auto-create-volumes",
        action="store_true",
        help="a /Volumes/<catalog>/<schema>/<volume>/... path in a volume nobody created creates it"
        " (off: 404, as on Databricks, where volumes are created first)",
    )
    serve.add_argument(
        "--trigger-check-seconds",
        type=float,
        default=60.0,
        help="how often file-arrival and table-update job triggers look for changes (Databricks: about a minute)",
    )
    serve.add_argument("--fault-seed", type=int, default=None, help="seed of the fault rules' random choices")
    serve.add_argument(
        "--fixtures",
        default=None,
        metavar="FILE",
        help="a workspace fixtures file (YAML or JSON): clusters, warehouses, jobs, queries, notebooks, files,"
        " secret scopes, catalogs, schemas, volumes with the ids and names it gives, created at every start"
        " when missing (see the README)",
    )
    serve.set_defaults(func=_serve)

    demo = sub.add_parser(
        "demo",
        help="run the seed's pipeline end to end on a local workspace",
        formatter_class=shown,
        description="Run the article's pipeline (file sensor, cluster, two Spark jobs, result by "
        "e-mail, delete) with real Airflow on a local workspace and SMTP server.",
    )
    demo.add_argument("--marker-delay", type=float, default=5.0, help="seconds before the marker file lands")
    demo.add_argument("--fail-notebook", action="store_true", help="make the notebook fail (cluster still deleted)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
