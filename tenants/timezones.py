"""The timezones a clinic can choose: Brazil's first, by the names people use, then the rest."""

import zoneinfo

from django.utils.translation import gettext as _

# Brazil's zones (the IANA table's BR rows), each by the city people name it after.
BRAZIL_ZONES = [
    ("America/Sao_Paulo", "Brasília"),
    ("America/Noronha", "Fernando de Noronha"),
    ("America/Manaus", "Manaus"),
    ("America/Rio_Branco", "Rio Branco"),
    ("America/Belem", "Belém"),
    ("America/Fortaleza", "Fortaleza"),
    ("America/Recife", "Recife"),
    ("America/Maceio", "Maceió"),
    ("America/Bahia", "Salvador"),
    ("America/Araguaina", "Araguaína"),
    ("America/Campo_Grande", "Campo Grande"),
    ("America/Cuiaba", "Cuiabá"),
    ("America/Santarem", "Santarém"),
    ("America/Porto_Velho", "Porto Velho"),
    ("America/Boa_Vista", "Boa Vista"),
    ("America/Eirunepe", "Eirunepé"),
]
_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Arctic/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


def timezone_label(zone: str) -> str:
    """'Brasília (America/Sao_Paulo)' for Brazil's zones, the IANA name for the others."""
    city = dict(BRAZIL_ZONES).get(zone)
    return f"{city} ({zone})" if city else zone


def timezone_choices(*, current: str | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a select: Brazil's zones, then every other place's (and `current`)."""
    brazil = {zone for zone, _city in BRAZIL_ZONES}
    others = sorted(
        zone
        for zone in zoneinfo.available_timezones()
        if zone.startswith(_REGIONS) and zone not in brazil
    )
    others.append("UTC")
    if current and current not in brazil and current not in others:
        others.insert(0, current)
    return [
        (_("Brazil"), [(zone, timezone_label(zone)) for zone, _city in BRAZIL_ZONES]),
        (_("Other timezones"), [(zone, zone) for zone in others]),
    ]
