"""Tables kept as data (findings catalogue, carriers' status codes): read whole, checked, and a
mistake in one names the file, the row and the field."""

from __future__ import annotations

import importlib
import itertools
import tomllib
from collections.abc import Callable
from importlib import resources
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import cast

import pytest

from carriers.kit.tables import StatusRow, read_table
from carriers.registry import load_carriers
from tracking.core.domain import Stage
from tracking.core.exceptions import ConfigError
from tracking.judge.findings import CATALOGUE, FindingSpec

_PACKAGES = itertools.count(1)
"""Each made package has a name of its own: a module and its file are read once a process."""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str | bytes], str]:
    """Makes an importable package holding `statuses.toml` with the given text; its name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(text: str | bytes) -> str:
        name = f"datapkg{next(_PACKAGES)}"
        root = tmp_path / name
        root.mkdir()
        (root / "__init__.py").write_text("")
        data = text.encode() if isinstance(text, str) else text
        (root / "statuses.toml").write_bytes(data)
        return name

    return make


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            'status = [{ code = "A1", stage = "delivered" }, { code = "A2", stage = "arrived" }]',
            r"datapkg\d+/statuses.toml: `status` row 2 \(A2\), stage: Input should be",
            id="a wrong stage: file, row, code and field",
        ),
        pytest.param(
            'status = [{ code = "A1", stage = "delivered", txt = ["x"] }]',
            r"row 1 \(A1\), txt: Extra inputs are not permitted",
            id="an unknown field",
        ),
        pytest.param("status = [", r"datapkg\d+/statuses.toml: ", id="not TOML"),
        pytest.param(
            b"status = [{ code = '\xff' }]", r"statuses.toml: .*invalid start byte", id="not UTF-8"
        ),
        pytest.param("[status]\ncode = 'A1'", r"no `status` rows", id="a table, not rows"),
        pytest.param(
            'status = [{ code = "A1", stage = "delivered" }, { code = "A1", stage = "returned" }]',
            r"datapkg\d+/statuses.toml: status code 'A1' is listed twice",
            id="a code twice",
        ),
        pytest.param(
            'status = [{ code = "L1", stage = "returned", detail = "lost" }]',
            r"'L1': a detail needs stage exception",
            id="a detail outside an exception",
        ),
        pytest.param(
            'status = [{ code = "L1", stage = "exception", detail = "lost" },'
            ' { code = "L2", stage = "exception", detail = "lost" }]',
            r"detail 'lost' is given to two codes",
            id="a detail twice",
        ),
        pytest.param(
            'status = [{ code = " L1", stage = "exception" }]',
            r"' L1': empty, or spaces around it",
            id="a code with spaces",
        ),
    ],
)
def test_a_mistake_in_a_status_file_is_refused_and_named(
    package: Callable[[str | bytes], str], text: str | bytes, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        read_table(package(text), StatusRow)


def test_the_sandbox_emits_coded_rows_in_file_order_and_exceptions_by_detail(
    package: Callable[[str | bytes], str],
) -> None:
    name = package(
        "status = [\n"
        '  { code = "D2", stage = "delivered", texts = ["Handed over"] },\n'
        '  { code = "D0", stage = "delivered" },\n'
        '  { code = "D1", stage = "delivered", texts = ["Signed"] },\n'
        '  { code = "D_X", stage = "delivered", texts = ["Left at door"], by_rule = true },\n'
        '  { code = "X9", stage = "exception", texts = ["Lost"], detail = "lost" },\n'
        "]\n"
    )
    table = read_table(name, StatusRow)
    assert table.stage_map == {
        "D2": Stage.DELIVERED,
        "D0": Stage.DELIVERED,
        "D1": Stage.DELIVERED,
        "X9": Stage.EXCEPTION,
    }
    assert table.emitted == {Stage.DELIVERED: ("D2", "D1", "D_X")}
    assert table.exception_codes == {"lost": "X9"}
    assert table.by_code["D1"].texts == ("Signed",)


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


def test_a_broken_built_in_carrier_stops_the_run_and_a_broken_plugin_is_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    group = "track_evidence.carriers"
    broken_builtin = EntryPoint("yanwen", "carriers.yanwen:NO_SUCH_CARRIER", group)
    with pytest.raises(ConfigError, match="built-in carrier 'yanwen' could not be loaded"):
        load_carriers([broken_builtin])
    plugin = EntryPoint("acme", "acme_carrier_plugin_not_installed:CARRIER", group)
    assert load_carriers([plugin]) == {}
    assert "carrier plugin acme_carrier_plugin_not_installed:CARRIER could not be loaded" in (
        caplog.text
    )


def _track17_sub_status(code: str) -> Stage:
    from carriers.track17.codes import stage_of

    return stage_of(None, code)


def _yunexpress_node(code: str) -> Stage | None:
    from carriers.yunexpress.parse import STAGE_MAP

    return STAGE_MAP.get(code.upper())


def _reader(module: str) -> Callable[[str], Stage | None]:
    return cast(Callable[[str], Stage | None], importlib.import_module(module).stage_of)


@pytest.mark.parametrize(
    ("package", "row_model", "read"),
    [
        (
            "carriers.cainiao",
            "carriers.cainiao.parse:CainiaoStatus",
            _reader("carriers.cainiao.parse"),
        ),
        ("carriers.fourpx", "carriers.fourpx.parse:FourPXStatus", _reader("carriers.fourpx.parse")),
        ("carriers.yanwen", "carriers.yanwen.parse:YanwenStatus", _reader("carriers.yanwen.parse")),
        ("carriers.track17", "carriers.track17.codes:Track17Status", _track17_sub_status),
        ("carriers.yunexpress", "carriers.kit.tables:StatusRow", _yunexpress_node),
    ],
)
def test_each_parser_reads_every_row_of_its_status_table_as_the_rows_stage(
    package: str, row_model: str, read: Callable[[str], Stage | None]
) -> None:
    """The parser and the sandbox read one table; a row the parser reads by a rule
    (`by_rule`, e.g. a prefix family) must get the row's stage from that rule too."""
    module, _, name = row_model.partition(":")
    table = read_table(package, getattr(importlib.import_module(module), name))
    assert {row.code: read(row.code) for row in table.rows} == {
        row.code: row.stage for row in table.rows
    }
