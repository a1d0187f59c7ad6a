"""Sanity checks on the vendored INSEE reference data (see refdata/SOURCE.md)."""

from __future__ import annotations

from cpts_registry.refdata import (
    PLM_COMMUNES,
    Commune,
    Reference,
    load_reference,
)

# Populations of the PLM communes as printed by the source package
# (@etalab/decoupage-administratif 6.0.0, data/communes.json, type commune-actuelle).
SOURCE_PLM = {
    "75056": (20, 2_103_778),  # Paris
    "13055": (16, 886_040),  # Marseille
    "69123": (9, 519_127),  # Lyon
}


def ref() -> Reference:
    return load_reference()


def test_is_loaded_once_per_process() -> None:
    load_reference.cache_clear()
    first = load_reference()
    assert load_reference() is first


def test_counts_are_plausible() -> None:
    r = ref()
    assert len(r.communes) == 34_917  # 34,875 communes + 45 PLM arrondissements - 3 PLM communes
    assert len(r.departements) == 101  # 96 metropolitan + 5 DROM; the COM are left out
    assert len(r.regions) == 18  # 13 metropolitan + 5 DROM
    assert not any(d.startswith(("975", "977", "978", "98")) for d in r.departements)
    assert all(c.departement in r.departements for c in r.communes.values())
    assert all(c.region in r.regions for c in r.communes.values())
    assert all(d.region in r.regions for d in r.departements.values())


def test_total_population() -> None:
    total = ref().population_of(ref().communes)
    assert total == 68_350_798


def test_plm_communes_are_replaced_by_arrondissements() -> None:
    r = ref()
    for parent, (count, population) in SOURCE_PLM.items():
        assert parent not in r.communes
        arrondissements = [c for c in r.communes.values() if c.parent == parent]
        assert len(arrondissements) == count
        assert sum(c.population for c in arrondissements) == population
        assert r.population_of([parent]) == population
    assert {c.parent for c in r.communes.values()} == {None, *PLM_COMMUNES}


def test_paris_arrondissements() -> None:
    paris = ref().communes_in_departement("75")
    assert [c.code for c in paris] == [f"751{n:02d}" for n in range(1, 21)]
    assert sum(c.population for c in paris) > 2_000_000
    assert paris[0] == Commune(
        code="75101",
        name="Paris 1er Arrondissement",
        departement="75",
        region="11",
        population=paris[0].population,
        parent="75056",
    )


def test_corse() -> None:
    r = ref()
    assert r.regions["94"].name == "Corse"
    corse_deps = sorted(d.code for d in r.departements.values() if d.region == "94")
    assert corse_deps == ["2A", "2B"]
    assert r.departement_region("2A") == "94"
    assert r.departement_region("2B") == "94"
    assert r.departement_region("20") is None
    communes = r.communes_in_region("94")
    assert communes
    assert {c.departement for c in communes} == {"2A", "2B"}


def test_overseas_departements() -> None:
    r = ref()
    for code in ("971", "972", "973", "974", "976"):
        assert code in r.departements
        assert r.communes_in_departement(code)
    assert r.departement_region("971") == "01"
    assert r.departement_region("976") == "06"


def test_unknown() -> None:
    r = ref()
    assert r.unknown(["75056x", "01001"]) == ["75056x"]
    assert r.unknown(["b", "01001", "a", "b"]) == ["b", "a"]
    assert r.unknown([]) == []


def test_expand() -> None:
    r = ref()
    paris = r.expand(["75056"])
    assert len(paris) == 20
    assert all(code.startswith("751") for code in paris)
    assert r.expand(["01001", "69123", "69381", "01001"]) == [
        "01001",
        *[f"6938{n}" for n in range(1, 10)],
    ]
    assert r.expand(["zzz"]) == ["zzz"]


def test_population_of() -> None:
    r = ref()
    a, b = r.communes["01001"], r.communes["01002"]
    assert r.population_of(["01001"]) == a.population
    assert r.population_of(["01001", "01002", "01001"]) == a.population + b.population
    assert r.population_of([]) == 0
    dep01 = r.communes_in_departement("01")
    assert r.population_of(c.code for c in dep01) == sum(c.population for c in dep01)


def test_communes_in_region_sorted_and_consistent() -> None:
    r = ref()
    idf = r.communes_in_region("11")
    assert [c.code for c in idf] == sorted(c.code for c in idf)
    assert {c.departement for c in idf} == {
        "75",
        "77",
        "78",
        "91",
        "92",
        "93",
        "94",
        "95",
    }
    assert r.communes_in_region("nope") == []
