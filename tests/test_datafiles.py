"""Tables kept as data (findings catalogue, carriers' status codes): read whole, checked, and a
mistake in one names the file, the row and the field."""

from __future__ import annotations

import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from carriers.kit.tables import StatusRow, StatusTable, read_table
from tracking.core.domain import Stage
from tracking.judge.findings import CATALOGUE, FindingSpec


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable package `datapkg` in a temporary folder, for data files under test."""
    root = tmp_path / "datapkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "datapkg", raising=False)
    return root


def test_a_wrong_stage_is_named_by_file_row_and_field(package: Path) -> None:
    (package / "statuses.toml").write_text(
        "status = [\n"
        '  { code = "A1", stage = "delivered" },\n'
        '  { code = "A2", stage = "arrived" },\n'
        "]\n"
    )
    with pytest.raises(ValueError, match=r"datapkg/statuses.toml: `status` row 2, stage: Input"):
        read_table("datapkg", StatusRow)


def test_an_unknown_field_is_refused(package: Path) -> None:
    (package / "statuses.toml").write_text(
        'status = [{ code = "A1", stage = "delivered", txt = ["x"] }]\n'
    )
    with pytest.raises(ValueError, match=r"row 1, txt: Extra inputs are not permitted"):
        read_table("datapkg", StatusRow)


def test_a_file_that_is_not_toml_or_has_no_rows_is_refused(package: Path) -> None:
    (package / "statuses.toml").write_text("status = [\n")
    with pytest.raises(ValueError, match=r"datapkg/statuses.toml: "):
        read_table("datapkg", StatusRow)
    (package / "statuses.toml").write_text("other = 1\n")
    with pytest.raises(ValueError, match=r"no `status` rows"):
        read_table("datapkg", StatusRow)


def test_a_code_listed_twice_is_refused() -> None:
    rows = (StatusRow(code="A1", stage=Stage.DELIVERED), StatusRow(code="A1", stage=Stage.RETURNED))
    with pytest.raises(ValueError, match="'A1' is listed twice"):
        StatusTable(rows)


def test_the_sandbox_emits_coded_rows_in_file_order_and_exceptions_by_detail(package: Path) -> None:
    (package / "statuses.toml").write_text(
        "status = [\n"
        '  { code = "D2", stage = "delivered", texts = ["Handed over"] },\n'
        '  { code = "D0", stage = "delivered" },\n'
        '  { code = "D1", stage = "delivered", texts = ["Signed"] },\n'
        '  { code = "D_X", stage = "delivered", texts = ["Left at door"], by_rule = true },\n'
        '  { code = "X9", stage = "exception", texts = ["Lost"], detail = "lost" },\n'
        "]\n"
    )
    table = read_table("datapkg", StatusRow)
    assert table.stage_map == {
        "D2": Stage.DELIVERED,
        "D0": Stage.DELIVERED,
        "D1": Stage.DELIVERED,
        "X9": Stage.EXCEPTION,
    }
    assert table.emitted == {Stage.DELIVERED: ("D2", "D1", "D_X")}
    assert table.exception_codes == {"lost": "X9"}
    assert table.texts("D1") == ("Signed",)


def test_the_findings_catalogue_lists_each_code_once_with_a_known_severity() -> None:
    text = resources.files("tracking.judge").joinpath("findings.toml").read_text(encoding="utf-8")
    codes = [row["code"] for row in tomllib.loads(text)["finding"]]
    assert len(codes) == len(set(codes)) == len(CATALOGUE)
    assert CATALOGUE["milestone.missing"] == FindingSpec(
        code="milestone.missing",
        severity="error",
        title="Required milestone not proven",
        title_zh="缺少必需的物流节点",
    )


def test_every_data_file_ships_in_the_package() -> None:
    """A wheel carries only what `package-data` names; a table left out fails on import."""
    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = config["tool"]["setuptools"]["package-data"]
    for package in ("tracking", "carriers"):
        listed = {path for pattern in shipped[package] for path in (root / package).glob(pattern)}
        for data in (root / package).rglob("*.toml"):
            assert data in listed, f"{data.relative_to(root)} is not in package-data"
