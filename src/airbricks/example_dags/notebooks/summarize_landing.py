# Databricks notebook source
# MAGIC %md
# MAGIC # Summarize a landed batch
# MAGIC Reads the CSV files that landed next to the `_SUCCESS` marker and returns a small JSON summary with
# MAGIC `dbutils.notebook.exit`, which Airflow picks up (runs/get-output) and mails.

# COMMAND ----------

import csv
import io
import json

dbutils.widgets.text("landing_dir", "dbfs:/landing")
dbutils.widgets.text("fail", "false")
landing_dir = dbutils.widgets.get("landing_dir")
if dbutils.widgets.get("fail").lower() == "true":
    raise ValueError(f"Refusing to summarize {landing_dir}: asked to fail (demo of a failed notebook)")

# COMMAND ----------

files = [f for f in dbutils.fs.ls(landing_dir) if f.name.endswith(".csv")]
rows = 0
total = 0.0
for f in files:
    reader = csv.DictReader(io.StringIO(dbutils.fs.head(f.path, 1024 * 1024)))
    for record in reader:
        rows += 1
        total += float(record["amount"])

# COMMAND ----------

dbutils.notebook.exit(json.dumps({"files": len(files), "rows": rows, "total_amount": round(total, 2)}))
