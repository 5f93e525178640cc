"""Calibration data import: the tidy table, NONMEM and PEtab readers, and one-line errors naming line and column.

The Benzekry 2014 and PDXE conversions read the shared data folder and skip
cleanly when it is absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chemohost.calibration import (
    DataFileError,
    dose_regimens,
    observations,
    read_nonmem,
    read_petab_measurements,
    read_tidy,
    shared_data_dir,
    tidy_benzekry2014,
    tidy_pdxe,
)

TV = "Tumour volume [mm3]"
HEADER = "subject,time,observable,value,group,censoring"


def write(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_one_line(error: DataFileError, *parts: str) -> None:
    message = str(error)
    assert "\n" not in message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# --------------------------------------------------------------------------------------------- tidy
def test_read_tidy_cleans_types_and_fills_optional_columns(tmp_path):
    path = write(tmp_path, "subject,time,observable,value\n1,0,Tumour volume [mm3],10\n1,2.5,Tumour volume [mm3],20\n"
                           "\n2,0,Tumour volume [mm3],7\n")
    data = read_tidy(path)
    assert list(data.columns) == ["subject", "time", "observable", "value", "group", "censoring"]
    assert data["subject"].tolist() == ["1", "1", "2"]
    assert data["time"].tolist() == [0.0, 2.5, 0.0]
    assert data["value"].dtype == float and (data["group"] == "").all() and (data["censoring"] == "").all()
    assert data.attrs["source"] == str(path)


BAD_TIDY = [  # (rows after the header, line, column, words in the message)
    ("m1,0,Tumour volume [mm3],10,,\nm1,1,Tumour volume [mm3],abc,,\n", 3, "value", ["'abc'"]),
    ("m1,0,Tumour volume [mm3],-4,,\n", 2, "value", ["below 0"]),
    ("m1,0,Tumour volume [mm3],4,,\nm1,oops,Tumour volume [mm3],4,,\n", 3, "time", ["'oops'"]),
    ("m1,2,Tumour volume [mm3],4,,\nm1,1,Tumour volume [mm3],5,,\n", 3, "time", ["earlier", "'m1'"]),
    ("m1,2,Tumour volume [mm3],4,,\nm1,2,Tumour volume [mm3],5,,\n", 3, "time", ["repeats"]),
    ("m1,0,Tumour volume,4,,\n", 2, "observable", ["no unit", "[mm3]"]),
    ("m1,0,Tumour volume [mm3],4,,\nm1,1,Tumour volume [mm3],4,,maybe\n", 3, "censoring", ["'maybe'"]),
    (",0,Tumour volume [mm3],4,,\n", 2, "subject", ["blank"]),
    ("m1,0,,4,,\n", 2, "observable", ["blank"]),
]


@pytest.mark.parametrize(("rows", "line", "column", "words"), BAD_TIDY)
def test_bad_tidy_file_names_line_and_column(tmp_path, rows, line, column, words):
    with pytest.raises(DataFileError) as info:
        read_tidy(write(tmp_path, HEADER + "\n" + rows))
    assert_one_line(info.value, "data.csv", f"line {line}", f"column '{column}'", *words)


def test_times_may_interleave_between_subjects_and_groups(tmp_path):
    text = HEADER + "\na,0,Tumour volume [mm3],1,x,\nb,0,Tumour volume [mm3],1,x,\na,0,Tumour volume [mm3],1,y,\n" \
                    "a,1,Tumour volume [mm3],2,x,\n"
    assert len(read_tidy(write(tmp_path, text))) == 4


def test_unknown_observable_is_checked_against_the_model(tmp_path, shared_model):
    model = shared_model("paclitaxel")
    text = HEADER + "\nm1,0,Tumour volume [mm3],4,,\nm1,1,Plasma paclitaxel [ng/ml],4,,\n"
    with pytest.raises(DataFileError) as info:
        read_tidy(write(tmp_path, text), model=model)
    assert_one_line(info.value, "line 3", "column 'observable'", "did you mean 'Plasma paclitaxel [ng/mL]'")
    read_tidy(write(tmp_path, text.replace("ng/ml", "ng/mL")), model=model)


def test_missing_column_and_empty_file(tmp_path):
    with pytest.raises(DataFileError) as info:
        read_tidy(write(tmp_path, "subject,time,value\nm1,0,3\n"))
    assert_one_line(info.value, "missing column 'observable'")
    with pytest.raises(DataFileError) as info:
        read_tidy(tmp_path / "absent.csv")
    assert_one_line(info.value, "not found")


def test_dose_rows_become_a_regimen_and_dose_only_subjects_are_refused(tmp_path):
    dose_header = HEADER + ",agent,amount,amount_unit,route,duration"
    good = (dose_header + "\nm1,0,,,,,Taxol,25,mg/kg,,\nm1,1,Tumour volume [mm3],40,,,,,,,\n"
            "m1,7,,,,,paclitaxel,25,mg/kg,iv_infusion,0.125\n")
    data = read_tidy(write(tmp_path, good))
    assert observations(data)["time"].tolist() == [1.0]
    regimen = dose_regimens(data)[("m1", "")]
    events = regimen.dose_events(until=30, body_weight=0.02)
    assert [(e.time, e.agent, e.route, e.total_amount) for e in events] == [
        (0.0, "paclitaxel", "iv_bolus", pytest.approx(0.5)), (7.0, "paclitaxel", "iv_infusion", pytest.approx(0.5))]
    orphan = good + "m2,0,,,,,paclitaxel,25,mg/kg,,\n"
    with pytest.raises(DataFileError) as info:
        read_tidy(write(tmp_path, orphan))
    assert_one_line(info.value, "line 5", "column 'subject'", "'m2' has doses but no observations")
    bad_agent = good.replace("Taxol", "paclitaxol")
    with pytest.raises(DataFileError) as info:
        read_tidy(write(tmp_path, bad_agent))
    assert_one_line(info.value, "line 2", "column 'agent'", "did you mean 'paclitaxel'")
    bad_amount = good.replace("Taxol,25", "Taxol,-25")
    with pytest.raises(DataFileError) as info:
        read_tidy(write(tmp_path, bad_amount))
    assert_one_line(info.value, "line 2", "column 'amount'")


def test_dataframe_input_names_the_row_label():
    frame = pd.DataFrame({"subject": ["a", "a"], "time": [0, 1], "observable": TV, "value": [1.0, -2.0]},
                         index=[10, 11])
    with pytest.raises(DataFileError) as info:
        read_tidy(frame)
    assert_one_line(info.value, "row 11", "column 'value'")


# ------------------------------------------------------------------------------------------- NONMEM
NONMEM = """ID,TIME,DV,AMT,EVID,CMT,RATE,II,ADDL,MDV,CENS
1,0,.,0.5,1,1,0,168,2,1,0
1,24,120,.,0,2,.,.,.,0,0
1,48,.,.,0,2,.,.,.,1,0
1,72,5,.,0,2,.,.,.,0,1
2,0,.,0.5,1,1,1,0,0,1,0
2,12,100,.,0,2,.,.,.,0,0
"""


def test_read_nonmem_expands_doses_converts_hours_and_reads_censoring(tmp_path):
    data = read_nonmem(write(tmp_path, NONMEM), time_unit="h", observables="Plasma paclitaxel [ng/mL]",
                       agents={1: "paclitaxel"})
    obs = observations(data)
    assert obs["subject"].tolist() == ["1", "1", "2"]
    np.testing.assert_allclose(obs["time"], [1.0, 3.0, 0.5])
    assert obs["censoring"].tolist() == ["", "left", ""]
    regimens = dose_regimens(data)
    assert [e.time for e in regimens[("1", "")].dose_events(until=30)] == [0.0, 7.0, 14.0]  # ADDL 2, II 168 h
    infusion = regimens[("2", "")].dose_events(until=30)[0]
    assert infusion.route == "iv_infusion" and infusion.duration == pytest.approx(0.5 / 24)  # AMT/RATE hours


@pytest.mark.parametrize(("edit", "line", "column", "words"), [
    (("1,24,120,", "1,24,12x,"), 3, "DV", ["'12x'"]),
    (("1,24,120,", "1,24,-3,"), 3, "DV", ["below 0"]),
    (("1,0,.,0.5,1,1", "1,0,.,0.5,3,1"), 2, "EVID", ["reset"]),
    (("2,0,.,0.5,1,1,1", "2,0,.,0.5,1,9,1"), 6, "CMT", ["compartment 9"]),
    (("2,0,.,0.5,1,1,1", "2,0,.,0.5,1,1,-2"), 6, "RATE", ["not supported"]),
    (("1,72,5,", "1,12,5,"), 5, "TIME", ["earlier"]),
])
def test_bad_nonmem_file_names_line_and_column(tmp_path, edit, line, column, words):
    text = NONMEM.replace(*edit)
    with pytest.raises(DataFileError) as info:
        read_nonmem(write(tmp_path, text), time_unit="h", observables="Plasma paclitaxel [ng/mL]",
                    agents={1: "paclitaxel"})
    assert_one_line(info.value, f"line {line}", f"column '{column}'", *words)


def test_nonmem_time_unit_is_required_and_checked(tmp_path):
    with pytest.raises(TypeError):
        read_nonmem(write(tmp_path, NONMEM), observables=TV)  # no default: hours and days are both common
    with pytest.raises(DataFileError) as info:
        read_nonmem(write(tmp_path, NONMEM), time_unit="hrs", observables=TV)
    assert_one_line(info.value, "'hrs'")


# -------------------------------------------------------------------------------------------- PEtab
PETAB = "observableId\tsimulationConditionId\ttime\tmeasurement\n" \
        "tv\tcontrol\t0\t50\ntv\tcontrol\t3\t80\ntv\ttreated\t0\t52\n"


def test_read_petab_measurements_maps_observables_and_conditions(tmp_path):
    data = read_petab_measurements(write(tmp_path, PETAB, "m.tsv"), observables={"tv": TV})
    assert data["observable"].unique().tolist() == [TV]
    assert data["group"].tolist() == data["subject"].tolist() == ["control", "control", "treated"]


def test_bad_petab_table_names_line_and_column(tmp_path):
    with pytest.raises(DataFileError) as info:
        read_petab_measurements(write(tmp_path, PETAB.replace("tv\ttreated", "tvol\ttreated"), "m.tsv"),
                                observables={"tv": TV})
    assert_one_line(info.value, "m.tsv line 4", "column 'observableId'", "'tvol'")
    with pytest.raises(DataFileError) as info:
        read_petab_measurements(write(tmp_path, PETAB.replace("\t80", "\tn/a"), "m.tsv"), observables={"tv": TV})
    assert_one_line(info.value, "line 3", "column 'measurement'")


# ------------------------------------------------------------------------------------- shared data
def _data_dir():
    try:
        return shared_data_dir()
    except DataFileError as exc:
        pytest.skip(f"shared data not available: {exc}")


@pytest.mark.data
def test_benzekry_tidy_drops_or_censors_zero_volumes():
    _data_dir()
    lung = tidy_benzekry2014("lung")
    assert (len(lung), lung["subject"].nunique(), lung["observable"].unique().tolist()) == (188, 20, [TV])
    assert len(tidy_benzekry2014("breast")) == 581
    censored = tidy_benzekry2014("breast", lloq=1.0)
    assert (len(censored), (censored["censoring"] == "left").sum()) == (583, 2)
    assert (censored.loc[censored["censoring"] == "left", "value"] == 1.0).all()


@pytest.mark.data
def test_pdxe_tidy_pairs_arms_of_one_model():
    folder = _data_dir() / "pdxe_gao2015"
    brca = tidy_pdxe(folder, arms=["untreated", "paclitaxel"], tumour_type="BRCA", require_all_arms=True)
    assert brca["subject"].nunique() == 39  # SOURCE.md: 39 BRCA models with a paclitaxel curve, all with untreated
    assert brca.groupby("subject")["group"].nunique().eq(2).all()
    read_tidy(brca)  # a valid tidy table: one value per time within each subject, group and observable
    untreated = tidy_pdxe(folder, arms={"untreated": "control"})
    assert set(untreated["group"]) == {"control"}
    assert {"X-025", "X-158", "X-166"} & {s.split("/")[0] for s in untreated["subject"] if "/" in s} == {
        "X-025", "X-158", "X-166"}  # the three untreated series with three mice each
    with pytest.raises(DataFileError) as info:
        tidy_pdxe(folder, arms=["paclitaxol"])
    assert_one_line(info.value, "did you mean 'paclitaxel'")
