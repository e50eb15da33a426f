"""PySpark side of the compare benchmark (bench/compare): reads Avro files with spark-avro, copies or
cleans them, writes Avro, and prints one JSON line of timings and counts on stdout.

    spark_job.py --mode copy|builtin|udf --out DIR --codec zstandard INPUT...

The clean rules are those of cleanOffer in bench/compare/data.ts, in the same order: a blank title
drops the record; an id that is not digits, a price that is not a decimal number, or a listing
date that is not a real yyyy-mm-dd date rejects it. Rejected rows are not written (counted only).
"""
import argparse
import datetime
import json
import re
import sys
import time

T_PROCESS = time.time()

from pyspark.sql import SparkSession  # noqa: E402  (import time counts as start-up)
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

NUMBER = r'^-?[0-9]+(\.[0-9]+)?$'
DATE = r'^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
ID = r'^[0-9]{1,15}$'
EPOCH = datetime.date(1970, 1, 1)

CLEAN = T.StructType([
    T.StructField('id', T.LongType(), False), T.StructField('merchant', T.StringType(), False),
    T.StructField('title', T.StringType(), False), T.StructField('price', T.DoubleType(), False),
    T.StructField('currency', T.StringType(), False), T.StructField('listed', T.DateType(), False),
])
# What the UDF returns: the clean record, or why not (status 'drop' / 'reject').
UDF_OUT = T.StructType([T.StructField('status', T.StringType(), False), T.StructField('rec', CLEAN, True)])


def clean_builtin(df):
    t = df.select(
        F.trim('id').alias('id'), F.trim('merchant').alias('merchant'), F.trim('title').alias('title'),
        F.trim('price').alias('price'), F.upper(F.trim('currency')).alias('currency'), F.trim('listed').alias('listed'))
    t = t.where(F.length('title') > 0)
    t = t.where(F.col('id').rlike(ID) & F.col('price').rlike(NUMBER) & F.col('listed').rlike(DATE))
    t = t.withColumn('listed', F.expr('try_cast(listed as date)')).where(F.col('listed').isNotNull())
    return t.select(F.col('id').cast('long'), 'merchant', 'title', F.col('price').cast('double'), 'currency', 'listed')


def clean_row(r):
    title = (r.title or '').strip()
    if title == '':
        return ('drop', None)
    rid, price, listed = (r.id or '').strip(), (r.price or '').strip(), (r.listed or '').strip()
    if not re.match(ID, rid) or not re.match(NUMBER, price) or not re.match(DATE, listed):
        return ('reject', None)
    try:
        day = datetime.date(int(listed[0:4]), int(listed[5:7]), int(listed[8:10]))
    except ValueError:
        return ('reject', None)
    return ('ok', (int(rid), (r.merchant or '').strip(), title, float(price), (r.currency or '').strip().upper(), day))


def clean_udf(df):
    f = F.udf(clean_row, UDF_OUT)
    t = df.select(f(F.struct(*df.columns)).alias('c')).where(F.col('c.status') == 'ok')
    return t.select('c.rec.*')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', choices=['copy', 'builtin', 'udf'], required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--codec', default='zstandard')
    ap.add_argument('--master', default='local[2]')
    ap.add_argument('inputs', nargs='+')
    a = ap.parse_args()

    spark = (SparkSession.builder.master(a.master).appName(f'partflow-bench-{a.mode}')
             .config('spark.ui.enabled', 'false').config('spark.sql.avro.compression.codec', a.codec)
             .getOrCreate())
    spark.sparkContext.setLogLevel('ERROR')
    t_ready = time.time()

    df = spark.read.format('avro').load(a.inputs)
    out = df if a.mode == 'copy' else clean_builtin(df) if a.mode == 'builtin' else clean_udf(df)
    out.write.format('avro').mode('overwrite').option('compression', a.codec).save(a.out)
    t_done = time.time()

    # Counted after the timed job (and outside the reported wall): read back what was written.
    written = spark.read.format('avro').load(a.out).count()
    partitions = df.rdd.getNumPartitions()
    t_counted = time.time()
    version = spark.version
    spark.stop()
    print(json.dumps({
        'startupSeconds': round(t_ready - T_PROCESS, 3), 'jobSeconds': round(t_done - t_ready, 3),
        'out': written, 'sparkPartitions': partitions, 'codec': a.codec,
        'countSeconds': round(t_counted - t_done, 3), 'pyspark': version,
    }))


if __name__ == '__main__':
    sys.exit(main())
