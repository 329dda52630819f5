"""The alert rules, the scrape configuration and the dashboard, checked and tested by promtool.

promtool is Debian's `prometheus` package (`make test` installs it). Every alert has a unit
test in deploy/prometheus/tests/ in which it fires, and docs/operations.md names every alert
and every metric the rules and the dashboard use.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
METRIC = re.compile(r"\bclinico_[a-z_]+\b")


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: apt-get install prometheus (make test installs it)"
    return path


def _run(promtool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )


def _alerts() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_the_alert_rules_and_the_scrape_configuration_are_valid(promtool):
    rules = _run(promtool, "check", "rules", "alerts.yml")
    config = _run(promtool, "check", "config", "prometheus.yml")

    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert config.returncode == 0, config.stdout + config.stderr


def test_every_alert_rule_passes_its_unit_tests(promtool):
    tested = _run(promtool, "test", "rules", "tests/alerts_test.yml")

    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_unit_test_in_which_it_fires():
    tests = yaml.safe_load((PROMETHEUS / "tests" / "alerts_test.yml").read_text())["tests"]
    firing = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }

    assert {rule["alert"] for rule in _alerts()} <= firing


def test_every_alert_and_every_metric_it_uses_is_documented_for_the_operator():
    for rule in _alerts():
        assert f"`{rule['alert']}`" in OPERATIONS, rule["alert"]
        for metric in METRIC.findall(rule["expr"]):
            name = re.sub(r"_(bucket|count|sum|total)$", "", metric)
            assert f"`{name}" in OPERATIONS, metric


def test_the_dashboard_is_grafana_json_over_documented_metrics():
    board = json.loads((PROMETHEUS / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]

    assert board["title"] and board["uid"] and len(board["panels"]) >= 8
    assert exprs
    for expr in exprs:
        for metric in METRIC.findall(expr):
            name = re.sub(r"_(bucket|count|sum|total)$", "", metric)
            assert f"`{name}" in OPERATIONS, metric
