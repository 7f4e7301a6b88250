import pytest

from conftest import FIXTURES
from matcher.derive import geocode_sites
from matcher.geo import country_code, distance_km, locate
from matcher.ingest import import_paths
from matcher.store import Store


def test_distance_boston_to_new_york():
    assert distance_km(42.3601, -71.0589, 40.7128, -74.0060) == pytest.approx(306, abs=3)
    assert distance_km(10, 20, 10, 20) == 0


def test_us_zip_codes_beat_city_names():
    point = locate(zip_code="02114", city="Somewhere Else", country="United States")
    assert point.precision == "zip" and point.lat == pytest.approx(42.36, abs=0.05)
    assert locate(zip_code="02114-2696").precision == "zip"


def test_cities_with_state_and_country():
    illinois = locate(city="Springfield", state="Illinois", country="United States")
    massachusetts = locate(city="Springfield", state="Massachusetts", country="United States")
    assert illinois.lon < -89 and massachusetts.lon > -73
    assert locate(city="Lyon", country="France").precision == "city"
    assert locate(city="Brussels (Bruxelles)", country="Belgium") is not None
    assert locate(city="Saint-Étienne", country="France") is not None
    assert locate(city="Nowhere-At-All", country="France") is None
    assert locate(zip_code="75013", city=None, country="France") is None  # French postcodes are not US ZIPs


def test_registry_country_names():
    assert country_code("United States") == "US"
    assert country_code("Korea, Republic of") == "KR"
    assert country_code("Netherlands") == "NL"
    assert country_code("Iran, Islamic Republic of") == "IR"
    assert country_code("Atlantis") is None


def test_sites_without_coordinates_are_placed_once(db_path):
    store = Store(db_path)
    import_paths(store, [FIXTURES / "records" / "NCT09000001.xml", FIXTURES / "records" / "NCT09000002.json"])
    assert geocode_sites(store) == {"zip": 1, "city": 1, "none": 0}
    rows = {r["facility"]: r for r in store.db["sites"].rows}
    assert rows["Fixture General Hospital"]["coordinates_source"] == "zip"
    assert rows["Clinique Fixture"]["coordinates_source"] == "city"
    assert rows["Fixture Medical Center"]["coordinates_source"] == "registry"
    assert rows["Fixture Medical Center"]["latitude"] == 42.3626  # registry coordinates are kept
    assert geocode_sites(store) == {"zip": 0, "city": 0, "none": 0}


def test_towns_of_a_thousand_people_are_placed():
    # Pierre-Bénite (9,971 people) holds Lyon Sud hospital, a frequent trial site
    point = locate(city="Pierre-Bénite", country="France")
    assert point is not None and point.precision == "city"
    assert distance_km(point.lat, point.lon, 45.70, 4.82) < 3
    assert locate(city="Pierre-Bénite", country="France", min_city_population=15000) is None  # the old list
