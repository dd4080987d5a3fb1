"""The cluster page of a Spark-backed cluster links the real Spark UI of its driver and shows its log."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import requests
from tests.workspace.ui.conftest import new_login_link


def test_cluster_page_links_the_drivers_spark_ui(spark_ws: Any, spark_cluster: str) -> None:
    session = requests.Session()
    session.get(new_login_link(spark_ws), timeout=10).raise_for_status()
    page = session.get(f"{spark_ws.url}/ui/clusters/{spark_cluster}", timeout=10)
    assert page.status_code == 200
    link = re.search(r'<td id="spark-ui"><a href="(http://127\.0\.0\.1:\d+)"', page.text)
    assert link, page.text[page.text.find('id="spark-ui"') :][:300]
    spark_ui = requests.get(link.group(1) + "/jobs/", timeout=10)
    assert spark_ui.status_code == 200 and "Spark Jobs" in spark_ui.text  # the driver's own UI answers
    log = re.search(
        r'<p class="meta">([^<]+driver\.log)</p><pre class="log" id="driver-log">(.*?)</pre>', page.text, re.S
    )
    assert log, "no driver log on the page"
    shown = html.unescape(log.group(2))
    assert len(shown) > 100 and shown in Path(html.unescape(log.group(1))).read_text(errors="replace")
    assert spark_ws.token not in page.text
