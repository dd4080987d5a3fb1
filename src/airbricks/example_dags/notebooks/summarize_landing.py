# Databricks notebook source
# MAGIC %md
# MAGIC # Load and summarize a landed batch with Spark
# MAGIC Two processing jobs of the pipeline, on the same all-purpose cluster:
# MAGIC * `step=load` reads the CSV files that landed next to the `_SUCCESS` marker and writes them into the table
# MAGIC   `landing_sales` (one partition per day, replaced when a day is reloaded);
# MAGIC * `step=summarize` queries that table and returns a small JSON summary with `dbutils.notebook.exit`,
# MAGIC   which Airflow picks up (runs/get-output) and mails.

# COMMAND ----------

import json

from pyspark.sql import functions as F

dbutils.widgets.text("landing_dir", "dbfs:/landing")
dbutils.widgets.text("day", "2026-01-01")
dbutils.widgets.text("step", "summarize")
dbutils.widgets.text("fail", "false")
landing_dir = dbutils.widgets.get("landing_dir")
day = dbutils.widgets.get("day")
step = dbutils.widgets.get("step")
if dbutils.widgets.get("fail").lower() == "true":
    raise ValueError(f"Refusing to {step} {landing_dir}: asked to fail (demo of a failed notebook)")

# COMMAND ----------

if step == "load":
    batch = (spark.read.option("header", True).option("inferSchema", True).csv(f"{landing_dir}/*.csv")
             .withColumn("source_file", F.input_file_name())
             .withColumn("day", F.lit(day)))
    (batch.write.mode("overwrite").option("partitionOverwriteMode", "dynamic")
     .partitionBy("day").format("parquet").saveAsTable("landing_sales"))
    dbutils.notebook.exit(json.dumps({"loaded_rows": batch.count()}))

# COMMAND ----------

summary = spark.sql(f"""
    SELECT count(DISTINCT source_file) AS files, count(*) AS n_rows, round(sum(amount), 2) AS total_amount
    FROM landing_sales WHERE day = '{day}'
""")
display(summary)
row = summary.first()
dbutils.notebook.exit(json.dumps({"files": row.files, "rows": row.n_rows, "total_amount": float(row.total_amount)}))
