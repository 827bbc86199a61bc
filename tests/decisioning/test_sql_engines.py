"""The SQL export, run unchanged where teams run it at scale: PostgreSQL (a throw-away server on
loopback), DuckDB and Spark SQL (pyspark in local mode, on Debian's JDK), each answering as the
engine decides, on random blueprints and profiles.

The blueprints are the suite's own: the oracle's (every operator and type, entry conditions,
fallbacks, shadowed and overlapping offers) and the hostile ones of the exports' tests (names,
labels, choices and values in any script with fragments of SQL and every other language the
exports write, keys from the whole key alphabet), so whatever those strategies learn to generate
is run here too. Profiles leave attributes out (missing), and the decision day is drawn, or left to
each engine's ``CURRENT_DATE``. The text each engine runs is the export byte for byte — header
comments and the final semicolon included:

- ``portable`` (the default) on PostgreSQL, on DuckDB, and on Spark with double-quoted names read
  as names (``spark.sql.ansi.doubleQuotedIdentifiers``) and with the string literals of Spark
  before 4.1 (``spark.sql.legacy.consecutiveStringLiterals.enabled``: ``'O''Brien'`` is
  ``OBrien`` there);
- ``spark`` on Spark under its default settings, ANSI mode on (Spark 4) or off (Spark 3).

Java missing is a failure that says what to install, never a skip: CI installs it (.ci/run). One
Spark session for the module: ``local[1]``, one shuffle partition, no UI, quiet logs; and one test
runs everything on it, so that pytest-xdist's workers never start a JVM each.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from decisioning import sql
from decisioning.engine import CompiledVersion, compile_snapshot
from decisioning.profiles import SET_SEPARATOR
from tests.blueprint.export_blueprints import hostile_snapshots, profiles_for, subject_of
from tests.decisioning import oracle
from tests.servers import postgres_bin, postgres_start

ROW = "#n"  # the profiles' own column: no key holds '#'
Rows = list[tuple[Any, ...]]


# --- The engines ----------------------------------------------------------------------------------------


def table_rows(compiled: CompiledVersion, profiles: list[dict[str, Any]]) -> Rows:
    """The profiles as rows of the relation the export reads: ``#n``, then the catalog's columns —
    numbers as floats, dates as dates, sets joined by '|', a missing value as NULL."""
    rows = []
    for n, profile in enumerate(profiles):
        row: list[Any] = [n]
        for key, attr in compiled.spec.catalog.items():
            value = profile.get(key)
            if value is not None and attr.type == "date":
                value = dt.date.fromisoformat(value)
            elif value is not None and attr.type == "set":
                value = SET_SEPARATOR.join(value)
            elif value is not None and attr.type == "number":
                value = float(value)
            row.append(value)
        rows.append(tuple(row))
    return rows


STANDARD_TYPES = {"number": "DOUBLE PRECISION", "date": "DATE", "boolean": "BOOLEAN"}


def standard_table(compiled: CompiledVersion) -> str:
    columns = [f"{sql.ident(ROW)} INTEGER"] + [
        f"{sql.ident(key)} {STANDARD_TYPES.get(attr.type, 'TEXT')}"
        for key, attr in compiled.spec.catalog.items()
    ]
    return f"CREATE TABLE profiles ({', '.join(columns)})"


class DuckDB:
    name = "DuckDB"

    def run(self, compiled: CompiledVersion, rows: Rows, query: str) -> tuple[list[str], Rows]:
        con = duckdb.connect()
        try:
            con.execute(standard_table(compiled))
            if rows:
                con.executemany(f"INSERT INTO profiles VALUES ({', '.join('?' * len(rows[0]))})", rows)
            cursor = con.execute(query)
            return [d[0] for d in cursor.description], cursor.fetchall()
        finally:
            con.close()

    def today(self) -> dt.date:
        return duckdb.connect().execute("SELECT CURRENT_DATE").fetchone()[0]  # type: ignore[index]


class PostgreSQL:
    name = "PostgreSQL"

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def run(self, compiled: CompiledVersion, rows: Rows, query: str) -> tuple[list[str], Rows]:
        with self.connection.transaction(force_rollback=True), self.connection.cursor() as cursor:
            cursor.execute(standard_table(compiled).replace("CREATE TABLE", "CREATE TEMPORARY TABLE"))
            if rows:
                cursor.executemany(f"INSERT INTO profiles VALUES ({', '.join(['%s'] * len(rows[0]))})", rows)
            cursor.execute(query.encode())  # bytes: run as written, never read as a format string
            assert cursor.description is not None
            return [d.name for d in cursor.description], cursor.fetchall()

    def today(self) -> dt.date:
        return self.connection.execute("SELECT CURRENT_DATE").fetchone()[0]  # type: ignore[index]


class Spark:
    def __init__(self, session: Any, name: str, settings: dict[str, str]) -> None:
        self.session, self.name, self.settings = session, name, settings

    def run(self, compiled: CompiledVersion, rows: Rows, query: str) -> tuple[list[str], Rows]:
        from pyspark.sql import types as T

        kinds = {"number": T.DoubleType(), "date": T.DateType(), "boolean": T.BooleanType()}
        schema = T.StructType(
            [T.StructField(ROW, T.IntegerType())]
            + [
                T.StructField(key, kinds.get(a.type, T.StringType()))
                for key, a in compiled.spec.catalog.items()
            ]
        )
        for name, value in self.settings.items():
            self.session.conf.set(name, value)
        self.session.createDataFrame(rows, schema).createOrReplaceTempView("profiles")
        answer = self.session.sql(query)
        return list(answer.columns), [tuple(r) for r in answer.collect()]

    def today(self) -> dt.date:
        return self.session.sql("SELECT CURRENT_DATE").collect()[0][0]  # type: ignore[no-any-return]


# Spark's settings, as each run leaves them for the next: every run sets all of them
SPARK_PORTABLE = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.legacy.consecutiveStringLiterals.enabled": "true",
}
SPARK_DEFAULT = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "false",
    "spark.sql.legacy.consecutiveStringLiterals.enabled": "false",
}
SPARK_ANSI_OFF = {**SPARK_DEFAULT, "spark.sql.ansi.enabled": "false"}


@pytest.fixture(scope="module")
def postgres() -> Iterator[psycopg.Connection[Any]]:
    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (.ci/run installs it)")
    server = postgres_start()
    try:
        with psycopg.connect(server.url, autocommit=True) as admin:
            # UTF-8 whatever the machine's locale (initdb under C would make SQL_ASCII)
            admin.execute(
                "CREATE DATABASE export ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
            )
        with psycopg.connect(server.url.rsplit("/", 1)[0] + "/export") as connection:
            yield connection
    finally:
        server.stop()


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        pytest.fail(
            "Java is missing, and Spark SQL runs on it: apt-get install default-jdk-headless "
            "(.ci/run installs it), or set JAVA_HOME"
        )
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("blueprint-sql-export")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.local.dir", str(scratch))
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        # run each query as a job, compiled as over a warehouse's table, rather than evaluated
        # by the optimizer on the few rows given here (it costs next to nothing more)
        .config(
            "spark.sql.optimizer.excludedRules",
            "org.apache.spark.sql.catalyst.optimizer.ConvertToLocalRelation",
        )
        # a short-lived JVM: start fast rather than peak later
        .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # py4j says at INFO when it closes a connection, even from a finalizer after pytest's streams close
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        yield session
    finally:
        session.stop()
        # and the JVM's gateway with it: its garbage-collection thread otherwise talks to the gone JVM
        # and logs the failure after pytest has closed its streams ("--- Logging error ---")
        from pyspark import SparkContext

        gateway = SparkContext._gateway
        if gateway is not None:
            gateway.shutdown()
            SparkContext._gateway = None
            SparkContext._jvm = None


# --- The answers ----------------------------------------------------------------------------------------

Answer = tuple[bool, str | None, bool, list[str]]


def engine_answers(compiled: CompiledVersion, profile: dict[str, Any], at: dt.date) -> list[Answer]:
    """Per stage of the blueprint, in journey order: what the engine decides (a stage it does not
    answer is not entered: no offer, no fallback, none eligible)."""
    decided = {d.stage: d for d in compiled.decide(profile, at=at).decisions}
    answers: list[Answer] = []
    for stage in compiled.spec.stages:
        d = decided.get(stage.key)
        answers.append(
            (False, None, False, []) if d is None else (d.entered, d.offer, d.fallback, list(d.eligible))
        )
    return answers


def sql_answers(row: tuple[Any, ...], stages: int) -> list[Answer]:
    """The answer columns of a row, read by position: they are its last four per stage."""
    cells = row[len(row) - 4 * stages :]
    out: list[Answer] = []
    for s in range(stages):
        entered, offer, fallback, eligible = cells[4 * s : 4 * s + 4]
        out.append((entered, offer, fallback, eligible.split("|") if eligible else []))
    return out


def answer_names(compiled: CompiledVersion, cut: bool) -> list[str]:
    names = [c for stage in compiled.spec.stages for c in sql.stage_columns(stage.key)]
    # PostgreSQL cuts every name at 63 bytes (the export's header says so when it happens)
    return [c[: sql.NAME_BYTES] for c in names] if cut else names


def check_engine(
    runner: Any,
    compiled: CompiledVersion,
    profiles: list[dict[str, Any]],
    query: str,
    at: dt.date | None,
) -> None:
    rows = table_rows(compiled, profiles)
    for _ in range(3):  # with CURRENT_DATE, the engine's day: run again if it turned during the run
        before = runner.today() if at is None else at
        names, answered = runner.run(compiled, rows, query)
        if at is not None or runner.today() == before:
            break
    stages = len(compiled.spec.stages)
    assert names[: len(rows[0]) if rows else 0] == [ROW, *compiled.spec.catalog][: len(names)]
    assert names[len(names) - 4 * stages :] == answer_names(compiled, cut=runner.name == "PostgreSQL")
    assert sorted(r[0] for r in answered) == list(range(len(profiles))), runner.name
    for row in answered:
        profile = profiles[row[0]]
        assert sql_answers(row, stages) == engine_answers(compiled, profile, before), (runner.name, profile)


# --- The blueprints -------------------------------------------------------------------------------------

DAYS = st.sampled_from([None, oracle.AT, oracle.AT - dt.timedelta(days=1), oracle.AT + dt.timedelta(days=1)])


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], dt.date | None, str]:
    """(a snapshot, profiles in JSON form, the decision day or None for CURRENT_DATE, a title)."""
    if draw(st.booleans()):
        snapshot = draw(oracle.snapshots())
        profiles = draw(st.lists(oracle.profiles(), min_size=1, max_size=12))
        title = "Oracle"
    else:
        snapshot = draw(hostile_snapshots())
        profiles = profiles_for(subject_of(snapshot), random.Random(draw(st.integers(0, 2**16))), 10)
        profiles = profiles or [{}]
        title = snapshot["blueprint"]["name"]
    return snapshot, profiles, draw(DAYS), title


def long_keys() -> tuple[dict[str, Any], list[dict[str, Any]], dt.date | None, str]:
    """Keys at their limit (64 characters), alike but for their last characters: PostgreSQL cuts
    names at 63 bytes. Values that read differently in some dialect: quotes, backslashes, a
    comment, a doubled quote, Spark's escapes."""
    a, b = "a" * 63 + "1", "a" * 63 + "2"
    odd = ["O'Brien", "it''s", "back\\", "\\'", "x' OR '1'='1", "-- no", "\\u0041", "`tick`", '"dq"', "/*"]
    snapshot = {
        "attributes": [
            {"key": "city", "label": "City\\", "type": "text"},
            {"key": "segment", "label": "Seg'ment", "type": "choice", "choices": odd},
            {"key": "tags", "label": "Tags", "type": "set"},
            {"key": "seen", "label": "Seen", "type": "date"},
        ],
        "stages": [
            {
                "key": key,
                "name": key,
                "entry": [[oracle.raw("seen", "within_last_days", 7)]] if key == b else [],
                "offers": [
                    {
                        "key": f"{key[:-3]}{key[-1]}{n}-",
                        "name": "O",
                        "groups": [[oracle.raw("city", "is", value)]],
                    }
                    for n, value in enumerate(odd[:4])
                ]
                + [
                    {
                        "key": f"{key[:-4]}{key[-1]}s{n}",
                        "name": "S",
                        "groups": [[oracle.raw("segment", "is_one_of", odd[n:])]],
                    }
                    for n in range(0, len(odd), 3)
                ]
                + [
                    {
                        "key": f"{key[:-4]}{key[-1]}t{n}",
                        "name": "T",
                        "groups": [[oracle.raw("tags", "includes", value)]],
                    }
                    for n, value in enumerate(odd)
                ]
                + [{"key": f"{key[:-3]}{key[-1]}f", "name": "F", "fallback": True}],
            }
            for key in (a, b, "s" * 54)
        ],
    }
    at = oracle.AT
    profiles: list[dict[str, Any]] = [{}, {"seen": at.isoformat()}]
    for value in odd:
        profiles.append({"city": value, "segment": value, "tags": [value, "x"], "seen": "2025-06-08"})
    profiles.append({"city": "O''Brien", "tags": ["OBrien", "back"], "seen": "2025-06-07"})
    return snapshot, profiles, at, "Keys at their limit\\"


def odd_texts(rng: random.Random, count: int) -> list[str]:
    """Texts made of what some SQL reader takes as more than a character: quotes of every kind,
    backslashes and escapes, comment marks, placeholders, line breaks, other scripts (no NUL,
    which PostgreSQL's texts cannot hold)."""
    parts = ["'", "''", '"', "`", "``", "\\", "\\'", "\\n", "\\u0041", "--", "/*", "*/", ";", "$$", "%s", "?"]
    parts += ["\n", "\r", "\t", "\u2028", "\u202e", "é", "ß", "日本", "\U0001f600", "a", " ", "R'", "E'"]
    return ["".join(rng.choice(parts) for _ in range(rng.randint(1, 6))) for _ in range(count)]


# --- The test -------------------------------------------------------------------------------------------


def test_the_export_runs_unchanged_on_postgresql_duckdb_and_spark_and_answers_as_the_engine(
    postgres: psycopg.Connection[Any], spark: Any
) -> None:
    runners: dict[str, list[Any]] = {
        "portable": [DuckDB(), PostgreSQL(postgres), Spark(spark, "Spark, portable", SPARK_PORTABLE)],
        "spark": [Spark(spark, "Spark", SPARK_DEFAULT), Spark(spark, "Spark, ANSI off", SPARK_ANSI_OFF)],
    }
    # a comment line ending in a backslash does not take the next line into the comment (Spark)
    assert spark.sql(sql.comment("C:\\") + "SELECT 1 AS one").collect()[0][0] == 1
    # the quoting functions' law, in each engine's own reading: a literal is its value, a name itself
    values = odd_texts(random.Random(16), 120)
    literals = ", ".join(f"{sql.text(v)} AS {sql.ident(f'v{n}')}" for n, v in enumerate(values))
    assert list(postgres.execute(f"SELECT {literals}".encode()).fetchone()) == values  # type: ignore[union-attr]
    assert list(duckdb.connect().execute(f"SELECT {literals}").fetchone()) == values  # type: ignore[union-attr]
    for settings_ in (SPARK_PORTABLE, SPARK_DEFAULT, SPARK_ANSI_OFF):
        for name, value in settings_.items():
            spark.conf.set(name, value)
        row = spark.sql(
            "SELECT " + ", ".join(f"{sql.text(v)} AS v{n}" for n, v in enumerate(values))
        ).collect()
        assert list(row[0]) == values, settings_
        named = spark.sql(
            "SELECT " + ", ".join(f"{n} AS {sql.spark_ident(v)}" for n, v in enumerate(values[:40]))
        )
        assert named.columns == values[:40], settings_

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=cases(), ansi=st.booleans())
    @example(case=long_keys(), ansi=True)
    @example(case=long_keys(), ansi=False)
    def each(case: tuple[dict[str, Any], list[dict[str, Any]], dt.date | None, str], ansi: bool) -> None:
        snapshot, profiles, at, title = case
        compiled = compile_snapshot(snapshot, {"draft": True, "rev": 1})
        for dialect, on in runners.items():
            query = sql.export_sql(compiled, at=at, title=title, dialect=dialect)
            for runner in on:
                if (
                    runner.name.startswith("Spark")
                    and dialect == "spark"
                    and (runner.name == "Spark") != ansi
                ):
                    continue  # one of Spark's two ANSI modes per blueprint, drawn
                check_engine(runner, compiled, profiles, query, at)

    each()


def test_postgresql_and_duckdb_get_the_portable_text_under_their_own_names() -> None:
    snapshot, _, at, title = long_keys()
    compiled = compile_snapshot(snapshot, {"draft": True, "rev": 1})
    portable = sql.export_sql(compiled, at=at, title=title)
    for name in ("postgresql", "duckdb"):
        assert sql.export_sql(compiled, at=at, title=title, dialect=name) == portable
    spark = sql.export_sql(compiled, at=at, title=title, dialect="spark")
    name = "s" * 54 + ".fallback"  # the longest name PostgreSQL keeps whole
    assert f"AS {sql.ident(name)}" in portable and f"AS {sql.spark_ident(name)}" in spark
    assert "PostgreSQL cuts names at 63 bytes" in portable and "PostgreSQL cuts" not in spark
