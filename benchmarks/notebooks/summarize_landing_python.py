# Databricks notebook source
# MAGIC %md
# MAGIC # Summarize a landed batch, in plain Python
# MAGIC The chaos run's stand-in for the example's Spark notebook: the same widgets and the same summary, read
# MAGIC with `dbutils.fs` so hundreds of runs need no Spark driver (the chaos run is about the operators).

# COMMAND ----------

import csv
import io
import json

dbutils.widgets.text("landing_dir", "dbfs:/landing")
dbutils.widgets.text("fail", "false")
dbutils.widgets.text("step", "summarize")
if dbutils.widgets.get("step") == "load":
    dbutils.notebook.exit("{}")
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
