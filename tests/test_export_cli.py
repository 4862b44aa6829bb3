"""`export` and `verify` from the command line, on a pulled sandbox database."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from tracking.cli.app import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# Fixed for byte-identical bundles; later than the sandbox's fetches (they carry the real clock).
CREATED_AT = "2036-01-01T00:00:00Z"
UPLOAD_TYPES = {b"%PDF": "pdf", b"\x89PNG": "png", b"\xff\xd8\xff": "jpg"}


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = tmp_path_factory.mktemp("db") / "te.db"
    url = f"sqlite:///{db}"
    result = runner.invoke(
        app,
        [
            "--db",
            url,
            "pull",
            str(EXAMPLES / "orders-gb18030.csv"),
            "--sandbox",
            "--as-of",
            "2026-11-20",
        ],
    )
    assert result.exit_code == 0, result.output
    return url


def export(url: str, out: Path, *extra: str) -> dict[str, object]:
    result = runner.invoke(
        app,
        [
            "--db",
            url,
            "export",
            "--out",
            str(out),
            "--reference-id",
            "EVR-TEST-1",
            "--as-of",
            "2026-11-20",
            "--created-at",
            CREATED_AT,
            "--json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_export_writes_upload_ready_files_and_verify_passes(pulled: str, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    report = export(pulled, out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # the 40th order is older than the 90-day window; upload/ cites those that pass
    assert manifest["citation"]["cited"] + manifest["citation"]["not_cited"] == 39
    assert report["orders"] == manifest["summary"]["verdicts"]["pass"] > 0
    uploads = sorted((out / "upload").rglob("*.*"))
    assert uploads
    for path in uploads:
        head = path.read_bytes()[:4]
        assert any(head.startswith(magic) for magic in UPLOAD_TYPES), path.name
        assert path.stat().st_size <= 10 * 1024 * 1024
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["reference_id"] == "EVR-TEST-1"
    assert len(manifest["orders"]) == report["orders"]
    raws = {p.stem for p in (out / "raw").iterdir()}
    cited = {sha for o in manifest["orders"] for sha in o["exchanges"]}
    assert cited <= raws
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 0, result.output


def test_same_database_and_options_give_identical_bundle(pulled: str, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b.zip"
    export(pulled, a, "--zip")
    export(pulled, b, "--zip")
    a = tmp_path / "a.zip"  # --zip writes NAME.zip
    assert a.read_bytes() == b.read_bytes()
    assert zipfile.ZipFile(a).testzip() is None


def test_signed_bundle_and_tampering_exit_3(pulled: str, tmp_path: Path) -> None:
    key = tmp_path / "signing.pem"
    result = runner.invoke(app, ["keys", "signing", str(key)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "signed"
    report = export(pulled, out, "--sign-key", str(key), "--verdict", "pass")
    assert report["signed"] is True
    good = runner.invoke(
        app, ["verify", str(out), "--public-key", str(key.with_name(key.name + ".pub")), "--json"]
    )
    assert good.exit_code == 0, good.output
    victim = next((out / "upload" / "orders").glob("*.pdf"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    bad = runner.invoke(app, ["verify", str(out), "--json"])
    assert bad.exit_code == 3
    assert victim.name in json.loads(bad.stdout)["problem"]


def test_export_into_a_non_empty_folder_is_a_clear_error(pulled: str, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["--db", pulled, "export", "--out", str(out)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_export_seller_zip_name_and_the_two_audiences(pulled: str, tmp_path: Path) -> None:
    seller = "深圳市XX科技有限公司 / Shenzhen XX Tech Co., Ltd."
    result = runner.invoke(
        app,
        [
            "--db",
            pulled,
            "export",
            "--out",
            str(tmp_path / "appeal"),
            "--zip",
            "--reference-id",
            "EVR-TEST-2",
            "--as-of",
            "2026-11-20",
            "--seller",
            seller,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "precheck/" in result.output
    assert "never upload" in result.output
    archive = tmp_path / "appeal.zip"
    assert archive.is_file()
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert "precheck/precheck.pdf" in names
        assert "precheck/precheck.csv" in names
        manifest = json.loads(zipped.read("manifest.json"))
        assert manifest["seller"] == seller
        summary = zipped.read("upload/00-summary.pdf")
    text = "".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(summary)).pages
    ).replace(" ", "")
    assert seller.replace(" ", "") in text


def test_created_at_earlier_than_the_data_is_one_clear_line(pulled: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "--db",
            pulled,
            "export",
            "--out",
            str(tmp_path / "early"),
            "--as-of",
            "2026-11-20",
            "--created-at",
            "2026-11-20T00:00:00Z",
        ],
    )
    assert result.exit_code == 1
    assert "earlier than the data" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "early").exists()


def test_worker_export_is_the_same_export_as_the_cli(pulled: str, tmp_path: Path) -> None:
    from carriers.registry import all_carriers
    from tracking.core.config import Settings
    from tracking.store.engine import open_engine
    from tracking.workers import tasks
    from tracking.workers.runtime import Runtime, WorkerConfig

    runtime = Runtime(
        config=WorkerConfig(database_url=pulled),
        settings=Settings(database_url=pulled, signing_key=None),
        engine=open_engine(pulled),
        carriers=all_carriers(),
        limits=None,
        app=None,
    )
    done = asyncio.run(
        tasks.export(
            runtime,
            out=str(tmp_path / "worker"),
            reference_id="EVR-TEST-1",
            as_of="2026-11-20",
            created_at=CREATED_AT,
            zip=True,
        )
    )
    assert done["path"].endswith("worker.zip")
    export(pulled, tmp_path / "cli", "--zip")
    assert (tmp_path / "worker.zip").read_bytes() == (tmp_path / "cli.zip").read_bytes()
