# Databricks notebook source
# Summarize one day's sales file: row count and total amount; a negative amount is a data error.
import csv
import io
import json

dbutils.widgets.text("landing_file", "")

# COMMAND ----------

rows = list(csv.DictReader(io.StringIO(dbutils.fs.head(dbutils.widgets.get("landing_file")))))
for number, row in enumerate(rows, start=1):
    if float(row["amount"]) < 0:
        raise ValueError(f"negative amount in row {number}: {row['amount']}")

# COMMAND ----------

dbutils.notebook.exit(json.dumps({"rows": len(rows), "total_amount": sum(float(r["amount"]) for r in rows)}))
