"""Drug classes, conditions and procedures that matching shares with the patient loader."""

import pytest

from matcher.criteria import (canonical_drug, class_members, drug_classes, find_condition,
                              find_procedure)


def test_drug_classes():
    assert drug_classes("eltrombopag") == {"tpo_receptor_agonist"}
    assert {"anti_cd20", "b_cell_depleting"} <= drug_classes("rituximab")
    assert {"anti_baff", "b_cell_depleting"} <= drug_classes("Benlysta")
    assert "corticosteroid" in drug_classes("Prednisone")
    assert drug_classes("unknownumab") == set()


def test_class_members():
    assert {"eltrombopag", "romiplostim", "avatrombopag", "lusutrombopag"} <= class_members("tpo_receptor_agonist")
    assert {"rituximab", "obinutuzumab", "ocrelizumab", "ofatumumab"} <= class_members("anti_cd20")
    assert {"rituximab", "belimumab", "ianalumab"} <= class_members("b_cell_depleting")
    assert "prednisone" not in class_members("immunosuppressant")
    assert class_members("no_such_class") == set()


@pytest.mark.parametrize("name, generic", [
    ("Nplate", "romiplostim"), ("Promacta", "eltrombopag"), ("MabThera", "rituximab"),
    ("ciclosporin", "cyclosporine"), ("Solu-Medrol", "methylprednisolone"), ("eltrombopag", "eltrombopag"),
])
def test_canonical_drug(name, generic):
    assert canonical_drug(name) == generic


def test_canonical_drug_unknown():
    assert canonical_drug("aspirin-like thing") is None and canonical_drug("") is None


@pytest.mark.parametrize("name", ["ITP", "immune thrombocytopenic purpura",
                                  "primary immune thrombocytopenia", "chronic ITP",
                                  "Purpura, Thrombocytopenic, Idiopathic"])
def test_itp_synonyms(name):
    info = find_condition(name)
    assert info.name == "primary immune thrombocytopenia"
    assert info.mesh_term == "Purpura, Thrombocytopenic, Idiopathic"
    assert "Thrombocytopenia" in info.ancestors


@pytest.mark.parametrize("name", ["secondary thrombocytopenia", "ITP secondary to lupus",
                                  "drug-induced thrombocytopenia"])
def test_secondary_thrombocytopenia_is_not_primary_itp(name):
    info = find_condition(name)
    assert info is None or info.mesh_term != "Purpura, Thrombocytopenic, Idiopathic"


def test_mesh_vocabulary_in_natural_order():
    assert find_condition("acute myeloid leukemia").mesh_term == "Leukemia, Myeloid, Acute"
    assert find_condition("Lung Neoplasms").name == "lung cancer"
    assert find_condition("type 2 diabetes").ancestors[0] == "Diabetes Mellitus"


def test_procedures():
    assert find_procedure("splenectomy").mesh_term == "Splenectomy"
    assert find_procedure("HSCT").name == "stem cell transplantation"
    assert find_procedure("plasma exchange").name == "plasmapheresis"
    assert find_procedure("diabetes") is None
