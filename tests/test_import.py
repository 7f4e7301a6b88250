"""Bulk import into the store: round trip, idempotence, versions, and bad input."""

import gzip
import json
import shutil
import zipfile

import pytest

from conftest import FIXTURES
from crawlers.bulk import Rejection, SourceError, read_paths
from matcher.ingest import import_paths
from matcher.store import Store

XML_FIXTURE = FIXTURES / "records" / "NCT09000001.xml"
V2_FIXTURE = FIXTURES / "records" / "NCT09000002.json"


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _with_update_date(xml: bytes, date: str, title: str) -> bytes:
    xml = xml.replace(b"June 7, 2023", date.encode())
    return xml.replace(b"Fixture Study of Drug X in Primary Immune Thrombocytopenia", title.encode())


def test_fixture_files_round_trip(db_path):
    store = Store(db_path)
    summary = import_paths(store, [XML_FIXTURE, V2_FIXTURE, FIXTURES / "records" / "flat-records.jsonl"])
    assert summary.outcome.counts()["added"] == 4 and not summary.rejections
    trial = store.trial("NCT09000001")
    assert trial.sites[1].city == "Lyon" and trial.phases == ["PHASE1", "PHASE2"]
    assert store.raw_record("NCT09000001") == ("ctgov-xml", XML_FIXTURE.read_bytes())
    assert store.raw_record("NCT09000002")[1] == V2_FIXTURE.read_bytes()
    hits = [r[0] for r in store.conn.execute("SELECT rowid FROM trials_fts WHERE trials_fts MATCH 'splenectomy'")]
    assert len(hits) == 2
    conditions = {(r["name"], r["vocabulary"]) for r in store.db["conditions"].rows_where("nct_id = ?", ["NCT09000002"])}
    assert ("Thrombocytopenia", "mesh_ancestor") in conditions and ("Immune Thrombocytopenia", "reported") in conditions


def test_reimport_changes_nothing(db_path):
    store = Store(db_path)
    import_paths(store, [XML_FIXTURE, V2_FIXTURE])
    before = store.conn.execute("SELECT nct_id, updated_at FROM trials ORDER BY nct_id").fetchall()
    again = import_paths(store, [XML_FIXTURE, V2_FIXTURE])
    assert again.outcome.counts() == {"added": 0, "updated": 0, "unchanged": 2, "older": 0}
    assert store.conn.execute("SELECT nct_id, updated_at FROM trials ORDER BY nct_id").fetchall() == before
    assert store.conn.execute("SELECT count(*) FROM sites").fetchone()[0] == 3


def test_older_record_never_overwrites_newer(tmp_path, db_path):
    store = Store(db_path)
    xml = XML_FIXTURE.read_bytes()
    newer = tmp_path / "new" / "NCT09000001.xml"
    older = tmp_path / "old" / "NCT09000001.xml"
    for path, content in ((newer, _with_update_date(xml, "July 1, 2024", "Newer title")),
                          (older, _with_update_date(xml, "January 2, 2022", "Older title"))):
        path.parent.mkdir()
        path.write_bytes(content)
    import_paths(store, [newer])
    summary = import_paths(store, [older])
    assert summary.outcome.counts()["older"] == 1
    assert store.trial("NCT09000001").brief_title == "Newer title"
    assert b"Newer title" in store.raw_record("NCT09000001")[1]
    # and the newer one does replace an older stored version, children included
    store2 = Store(tmp_path / "second.db")
    import_paths(store2, [older])
    assert import_paths(store2, [newer]).outcome.counts()["updated"] == 1
    assert store2.trial("NCT09000001").brief_title == "Newer title"
    assert store2.conn.execute("SELECT count(*) FROM sites").fetchone()[0] == 2


def test_same_date_duplicates_settle_whatever_the_order(tmp_path):
    full = json.loads(V2_FIXTURE.read_text())
    extract = json.loads(V2_FIXTURE.read_text())
    del extract["derivedSection"]
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"studies": [extract], "nextPageToken": "abc"}))
    for order in ([V2_FIXTURE, page], [page, V2_FIXTURE]):
        store = Store(tmp_path / f"{order[0].stem}.db")
        import_paths(store, order)
        assert store.trial("NCT09000002").condition_mesh_ancestors == ["Thrombocytopenia", "Blood Platelet Disorders"]
        assert import_paths(store, order).outcome.counts()["updated"] == 0
    assert full["protocolSection"] == extract["protocolSection"]


def test_corrupt_members_are_reported_and_the_rest_lands(tmp_path, db_path):
    good = XML_FIXTURE.read_bytes()
    second = good.replace(b"NCT09000001", b"NCT09000005")
    archive = _zip(tmp_path / "AllPublicXML.zip", {
        "NCT0900xxxx/NCT09000001.xml": good,
        "NCT0900xxxx/NCT09000002.xml": good[: len(good) // 2],  # truncated
        "NCT0900xxxx/NCT09000003.xml": b"\x00\xff not xml at all",
        "NCT0900xxxx/NCT09000005.xml": second,
        "NCT0900xxxx/readme.txt": b"ignored",
    })
    # flip bytes inside the compressed data of one member so its CRC check fails
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("NCT0900xxxx/NCT09000005.xml")
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[data_start + 40 : data_start + 48] = b"\x00" * 8
    archive.write_bytes(bytes(raw))

    summary = import_paths(Store(db_path), [archive])
    reasons = {r.location.rsplit("/", 1)[1]: r.reason for r in summary.rejections}
    assert set(reasons) == {"NCT09000002.xml", "NCT09000003.xml", "NCT09000005.xml"}
    assert "malformed XML" in reasons["NCT09000002.xml"]
    assert "corrupt archive member" in reasons["NCT09000005.xml"] or "malformed" in reasons["NCT09000005.xml"]
    assert summary.outcome.added == ["NCT09000001"]
    stored = Store(db_path).conn.execute("SELECT count(*) FROM import_rejections WHERE run_id = ?", (summary.run_id,))
    assert stored.fetchone()[0] == 3


def test_empty_archive_and_unusable_paths(tmp_path, db_path):
    empty = _zip(tmp_path / "empty.zip", {})
    summary = import_paths(Store(db_path), [empty])
    assert summary.outcome.counts() == {"added": 0, "updated": 0, "unchanged": 0, "older": 0} and not summary.rejections
    not_zip = tmp_path / "broken.zip"
    not_zip.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(SourceError, match="not a readable zip"):
        list(read_paths([not_zip]))
    with pytest.raises(SourceError, match="no such file"):
        list(read_paths([tmp_path / "missing.zip"]))
    with pytest.raises(SourceError, match="unsupported file type"):
        list(read_paths([shutil.copy(XML_FIXTURE, tmp_path / "trial.txt")]))


def test_non_trial_json_and_bad_lines_are_rejected(tmp_path):
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"name": "left-pad", "version": "1.0.0"}))
    lines = tmp_path / "studies.jsonl.gz"
    with gzip.open(lines, "wt") as out:
        out.write(V2_FIXTURE.read_text().replace("\n", "") + "\n")
        out.write("{not json\n")
        out.write(json.dumps({"hello": "world"}) + "\n")
    items = list(read_paths([other, lines]))
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert [r.location for r in rejections] == [str(other), f"{lines}:2", f"{lines}:3"]
    assert "not a trial record" in rejections[0].reason and "invalid JSON" in rejections[1].reason
    assert [t.nct_id for t, _ in (i for i in items if not isinstance(i, Rejection))] == ["NCT09000002"]


def test_truncated_gzip_keeps_the_lines_before(tmp_path):
    lines = tmp_path / "studies.jsonl.gz"
    body = "".join(
        json.dumps({"nct_id": f"NCT0900{n:04d}", "title": f"t{n}"}) + "\n" for n in range(200)
    ).encode()
    lines.write_bytes(gzip.compress(body)[:-300])
    items = list(read_paths([lines]))
    assert isinstance(items[-1], Rejection) and "ends early" in items[-1].reason
    read = [trial.nct_id for trial, _ in items[:-1]]
    assert len(read) >= 100 and read == [f"NCT0900{n:04d}" for n in range(len(read))]


def test_folder_of_v2_json_and_multi_study_xml(tmp_path):
    folder = tmp_path / "download"
    folder.mkdir()
    shutil.copy(V2_FIXTURE, folder / "NCT09000002.json")
    body = XML_FIXTURE.read_text().split("\n", 1)
    many = "<studies>" + body[0] + body[1] + body[0] + body[1].replace("NCT09000001", "NCT09000006") + "</studies>"
    (folder / "several.xml").write_text(many)
    ids = [item[0].nct_id for item in read_paths([folder])]
    assert ids == ["NCT09000002", "NCT09000001", "NCT09000006"]


def test_v2_download_zip_of_json(tmp_path, db_path):
    archive = _zip(tmp_path / "ctg-studies.json.zip", {"NCT09000002.json": V2_FIXTURE.read_bytes()})
    summary = import_paths(Store(db_path), [archive])
    assert summary.outcome.added == ["NCT09000002"]


@pytest.mark.real_data
def test_whole_xml_sample_round_trip(xml_sample, db_path):
    store = Store(db_path)
    summary = import_paths(store, [xml_sample], parallel=True)
    with zipfile.ZipFile(xml_sample) as archive:
        members = [n for n in archive.namelist() if n.endswith(".xml")]
        site_count = sum(archive.read(n).count(b"<location>") for n in members[:300])
    assert len(members) == 7461
    assert not summary.rejections
    # NCT00980226.xml is the registry's copy of NCT00081588 under a merged (alias) id
    assert store.count_trials() == 7460
    assert summary.outcome.counts()["added"] + summary.outcome.counts()["unchanged"] == 7461
    assert store.trial("NCT00081588").nct_aliases == ["NCT00980226"]
    first_300 = {n.rsplit("/", 1)[1][:-4] for n in members[:300]}
    marks = ",".join("?" * len(first_300))
    assert store.conn.execute(f"SELECT count(*) FROM sites WHERE nct_id IN ({marks})", list(first_300)).fetchone()[0] == site_count
    assert store.conn.execute("SELECT count(DISTINCT nct_id) FROM conditions").fetchone()[0] >= 7400
    again = import_paths(store, [xml_sample], parallel=True)
    assert again.outcome.counts() == {"added": 0, "updated": 0, "unchanged": 7461, "older": 0}
    with zipfile.ZipFile(xml_sample) as archive:
        assert store.raw_record("NCT05694767")[1] == archive.read("NCT0569xxxx/NCT05694767.xml")
