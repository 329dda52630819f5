"""The server-drawn SVG charts: escaped labels, round axes, bars to scale, pt-BR numbers."""

import re

import pytest
from django.utils import translation

from web.charts import Series, bar_chart, hbar_chart

pytestmark = pytest.mark.django_db  # the folder's autouse fixture clears sign-in counters


def test_bars_are_drawn_to_scale_on_a_round_axis():
    svg = bar_chart(
        labels=["09h", "10h"], series=[Series("Chegadas", [3, 1], "chart-a")], label="x"
    )
    heights = [float(h) for h in re.findall(r'<rect class="chart-a"[^>]* height="([\d.]+)"', svg)]
    ticks = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert ticks == ["0", "1", "2", "3"]  # small counts: whole numbers up to the maximum
    assert heights[0] == pytest.approx(3 * heights[1], abs=0.2)


def test_names_are_escaped_and_numbers_read_the_pt_br_way():
    with translation.override("pt-br"):
        svg = hbar_chart(labels=["<b>Sala 1</b>"], values=[9.8], label="Espera", unit=" min")
    assert "<b>" not in svg and "&lt;b&gt;Sala 1&lt;/b&gt;" in svg
    assert "9,8 min" in svg


def test_a_label_without_a_value_shows_a_dash_not_a_bar():
    svg = hbar_chart(labels=["Triagem", "Recepção"], values=[None, 4], label="p90")
    assert svg.count("<rect") == 1 and ">–<" in svg


def test_an_axis_of_quarters_reads_its_marks_exactly():
    with translation.override("pt-br"):
        svg = bar_chart(
            labels=["09h"], series=[Series("Espera p50", [0.9], "chart-a")], label="Espera"
        )
    ticks = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert ticks == ["0", "0,25", "0,5", "0,75", "1"]
