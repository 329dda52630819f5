"""Production supervision: the systemd units and the compose file restart every process.

The units are checked by systemd itself (`systemd-analyze verify`, with the install paths
pointed at this checkout, since /opt/clinico does not exist here), and read for what an
operator relies on: each process restarts whatever made it exit, without a start limit, and
is not stopped when the database or the broker restarts.
"""

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.processes import ROOT

UNITS = ROOT / "deploy" / "systemd"
PROCESSES = ("web", "events", "worker", "beat", "webhooks")


def _unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(UNITS / name)
    return parser


@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_unit_restarts_it_always_and_belongs_to_the_target(process):
    unit = _unit(f"clinico-{process}.service")

    assert unit["Service"]["Restart"] == "always"
    assert float(unit["Service"]["RestartSec"]) > 0
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up
    assert unit["Unit"]["PartOf"] == "clinico.target"
    assert unit["Install"]["WantedBy"] == "clinico.target"
    # A database or broker restart must not stop it: ordered after them, never bound to them.
    for binding in ("Requires", "BindsTo", "Requisite"):
        assert binding not in unit["Unit"]


def test_the_target_starts_every_process():
    wanted = _unit("clinico.target")["Unit"]["Wants"].split()

    assert sorted(wanted) == sorted(f"clinico-{p}.service" for p in PROCESSES)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path):
    venv = Path(sys.executable).parent.parent
    for source in UNITS.iterdir():
        text = source.read_text()
        text = text.replace("/opt/clinico/.venv", str(venv)).replace("/opt/clinico", str(ROOT))
        text = text.replace("EnvironmentFile=/etc/", "EnvironmentFile=-/etc/")
        text = text.replace("User=clinico", "User=root").replace("Group=clinico", "Group=root")
        (tmp_path / source.name).write_text(text)

    checked = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (checked.returncode, checked.stderr) == (0, "")


def test_compose_restarts_every_long_running_service():
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    services = compose["services"]

    for name in (*PROCESSES, "postgres", "rabbitmq"):
        assert services[name]["restart"] == "always", name
    assert services["migrate"]["restart"] == "no"
