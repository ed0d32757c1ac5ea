"""One history dataset, four readers: pyarrow, DuckDB, Polars and Spark see the same rows,
schema and dtypes, and Spark prunes partitions on agent and month."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from letta_client import Letta

import letta_widgets as lw
from letta_widgets.history_dataset.manifest import read_manifest
from letta_widgets.history_dataset.schema import dataset_schema

pytestmark = [pytest.mark.timeout(600), pytest.mark.devserver_only]  # the bulk insert

DAY = 86_400
EXPECTED = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("id", pa.string()),
        ("otid", pa.string()),
        ("seq", pa.int64()),
        ("date", pa.timestamp("us", tz="UTC")),
        ("message_type", pa.string()),
        ("role", pa.string()),
        ("text", pa.string()),
        ("tool_name", pa.string()),
        ("tool_args", pa.string()),
        ("tool_call_id", pa.string()),
        ("tool_status", pa.string()),
        ("run_id", pa.string()),
        ("step_id", pa.string()),
        ("sender_id", pa.string()),
        ("is_err", pa.bool_()),
        ("in_context", pa.bool_()),
        ("agent_id", pa.string()),
        ("month", pa.string()),
    ]
)
"""What every reader sees: the file columns, then the partition columns (strings)."""
KEY = ["agent_id", "conversation_id", "seq", "message_type", "id"]
GLOB = "agent_id=*/month=*/*.parquet"
"""The recommended glob (docs/history.md): only data files, never _manifest.parquet."""


@pytest.fixture(scope="module")
def dataset(client: Letta, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("history")
    agents = []
    for i in range(2):
        a = client.agents.create(
            name=f"readers-{i}",
            model="openai/gpt-4o-mini",
            embedding="openai/text-embedding-3-small",
        ).id
        agents.append(a)
        for j in range(3):
            conv = client.conversations.create(agent_id=a).id
            client.post(
                f"/v1/_devserver/conversations/{conv}/synthetic",
                cast_to=object,
                body={"turns": 10, "start": 1.7e9 + (3 * i + j) * 9 * DAY, "step_seconds": 2 * DAY},
            )
    lw.export_history(client, root, agent_ids=agents, target_file_size=6000)
    # a second run with new rows: one more part in the newest month's partition; and a
    # run's leftover in _staging must stay invisible to every reader
    client.post(f"/v1/_devserver/conversations/{conv}/synthetic", cast_to=object, body={"turns": 2})
    lw.export_history(client, root, agent_ids=agents, target_file_size=6000, settle=-3600)
    stage = root / "_staging" / "agent_id=x" / "month=2020-01"
    stage.mkdir(parents=True)
    (stage / "part-orphan.parquet.tmp").write_bytes(b"PAR1 not a parquet file")
    yield root, agents
    for a in agents:
        client.agents.delete(a)


def _normalized(table: pa.Table) -> pa.Table:
    """Columns in EXPECTED's order, rows sorted by KEY (ignoring nullability)."""
    table = table.select(EXPECTED.names)
    return table.sort_by([(k, "ascending") for k in KEY])


def _types(table: pa.Table) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.type) for f in table.schema]


@pytest.fixture(scope="module")
def reference(dataset) -> pa.Table:
    root, _ = dataset
    manifest = read_manifest(root)
    assert manifest is not None and len(manifest.files) > len(manifest.partition_files())
    assert [(f.name, f.type) for f in dataset_schema(False)] == [(f.name, f.type) for f in EXPECTED]
    table = ds.dataset(root, format="parquet", partitioning="hive").to_table()
    assert _types(table) == [(f.name, f.type) for f in EXPECTED]
    return _normalized(table)


def test_pyarrow_reads_what_read_history_reads(dataset, reference):
    root, _ = dataset
    frame = lw.read_history(root)
    assert len(frame) == reference.num_rows
    assert sorted(frame["id"]) == sorted(reference.column("id").to_pylist())


def test_duckdb(dataset, reference):
    duckdb = pytest.importorskip("duckdb")
    root, _ = dataset
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # else DuckDB names the zone 'Etc/UTC'
    table = con.sql(
        f"SELECT * FROM read_parquet('{root}/{GLOB}', hive_partitioning = true)"
    ).arrow()
    table = table.read_all() if hasattr(table, "read_all") else table
    got = _normalized(table)
    assert _types(got) == _types(reference)
    assert got.to_pylist() == reference.to_pylist()


def test_polars(dataset, reference):
    pl = pytest.importorskip("polars")
    root, _ = dataset
    frame = pl.scan_parquet(f"{root}/{GLOB}", hive_partitioning=True).collect()
    got = _normalized(frame.to_arrow().cast(_large_to_plain(frame.to_arrow().schema)))
    assert _types(got) == _types(reference)
    assert got.to_pylist() == reference.to_pylist()


def _large_to_plain(schema: pa.Schema) -> pa.Schema:
    """Polars hands out large_string (string_view) columns: the same values, another width."""
    return pa.schema(
        [
            pa.field(f.name, pa.string())
            if pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type)
            else f
            for f in schema
        ]
    )


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only
    t = time.perf_counter()
    session = (
        SparkSession.builder.master("local[1]")
        .appName("letta-widgets-history")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "false")  # the scan node stays in the plan
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )
    print(f"\nSparkSession started in {time.perf_counter() - t:.1f}s")
    yield session
    session.stop()


def test_spark_reads_the_same_and_prunes_partitions(spark, dataset, reference):
    root, _ = dataset
    df = spark.read.parquet(str(root))  # _manifest.parquet, _staging, _lock are skipped
    got = _normalized(df.toArrow())
    assert _types(got) == _types(reference)
    assert got.to_pylist() == reference.to_pylist()

    manifest = read_manifest(root)
    agent, month = next(iter(manifest.partition_files()))
    wanted = {str((root / f.path).resolve()) for f in manifest.partition_files()[(agent, month)]}
    picked = df.filter((df.agent_id == agent) & (df.month == month))
    rows = picked.collect()  # runs this Dataset's own plan, whose metrics are read below
    assert len(rows) == sum(f.rows for f in manifest.partition_files()[(agent, month)])
    plan = picked._jdf.queryExecution().executedPlan()
    text = plan.toString()
    assert "PartitionFilters" in text and "agent_id" in text and "month" in text
    scans = [leaf for leaf in _leaves(plan) if "FileSourceScan" in leaf.getClass().getName()]
    assert len(scans) == 1
    files_read = scans[0].metrics().apply("numFiles").value()
    assert files_read == len(wanted) < len(manifest.files)


def _leaves(plan):
    """The leaves of a Spark physical plan (through the JVM gateway)."""
    leaves = plan.collectLeaves()
    return [leaves.apply(i) for i in range(leaves.size())]
