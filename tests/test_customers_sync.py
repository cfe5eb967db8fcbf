"""The customer list: the Google Sheet through gspread against a fake Sheets v4 server,
and CSV files, into ``customer.updated`` events (only for what changed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crm.cli import main
from crm.customers.phones import BadPhone, normalise_phone
from crm.events import EventStore
from crm.projections.customers import get_customer
from tests.conftest import crm_env
from tests.fake_google import FakeGoogle
from tests.google_support import PROXY_VARIABLES, google_env, write_service_account

SHEET_ID = "1CustomerSheetForTests"
HEADER = ["Customer ID", "Name", "Email", "Phone", "Notes"]


def sheet_rows(count: int = 1000) -> list[list[str]]:
    """``count`` customers; rows 11, 21 and 31 of the sheet are bad (no phone, not a
    number, the phone of row 2 again)."""
    rows = [HEADER]
    for i in range(1, count + 1):
        phone = f"+852 9{i:07d}"
        if i == 10:
            phone = ""
        elif i == 20:
            phone = "call the shop"
        elif i == 30:
            phone = "+852 90000001"
        rows.append([str(i), f"Customer {i}", f"c{i}@example.com", phone,
                     "vip" if i % 100 == 0 else ""])
    return rows


@pytest.fixture
def fake() -> FakeGoogle:
    with FakeGoogle() as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeGoogle) -> Path:
    """A crm environment (data folder, service account) pointing at the fake; returns
    the data folder."""
    data = tmp_path / "data"
    key = write_service_account(tmp_path / "sa.json", fake.url + "/token")
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in google_env(fake.url, key, GOOGLE_SHEET_ID=SHEET_ID,
                                  CRM_DATA_DIR=str(data)).items():
        monkeypatch.setenv(name, value)
    return data


def customer_events(data: Path) -> list:
    store = EventStore(data / "crm.db")
    try:
        return [e for e in store.read_after(0, 100_000) if e.type == "customer.updated"]
    finally:
        store.close()


def test_phone_numbers_are_normalised_or_refused() -> None:
    assert normalise_phone("+852 9123-4567") == "85291234567"
    assert normalise_phone("0049 (151) 234.5678") == "491512345678"
    assert normalise_phone("85291234567") == "85291234567"
    assert normalise_phone("0151 2345678", "49") == "491512345678"
    assert normalise_phone("9123 4567", "852") == "85291234567"
    for bad, country in (("", None), ("n/a", None), ("0151 2345678", None), ("+12", None),
                         ("+1234567890123456", None), ("12 34 56 78 ext 9", "852")):
        with pytest.raises(BadPhone):
            normalise_phone(bad, country)


def test_sheet_of_1000_rows_syncs_once_then_only_the_changed_row(
        env: Path, fake: FakeGoogle, capsys: pytest.CaptureFixture[str]) -> None:
    rows = sheet_rows()
    fake.add_sheet(SHEET_ID, "Other tab", [["Phone"], ["+852 91111111"]])
    fake.add_sheet(SHEET_ID, "Customer List", rows)

    assert main(["customers", "sync"]) == 0
    out = capsys.readouterr().out
    assert f"sheet:{SHEET_ID}: 1000 rows, 997 new or changed, 0 unchanged, 3 skipped" in out
    assert "row 11: no phone number" in out
    assert "row 21: 'call the shop' is not a phone number" in out
    assert "row 31: duplicate phone 85290000001 (first in row 2)" in out
    events = customer_events(env)
    assert len(events) == 997
    first = events[0].data
    assert first == {"phone": "85290000001", "name": "Customer 1", "source": f"sheet:{SHEET_ID}",
                     "attributes": {"Customer ID": "1", "Email": "c1@example.com"}}
    assert events[0].stream == "customer:85290000001"
    # The real service-account flow: a signed JWT traded at the token endpoint.
    assert fake.paths("POST") == ["/token"]
    values = [c for c in fake.log if "/values/" in c.path]
    assert values[0].headers["Authorization"] == "Bearer fake-access-token"

    assert main(["customers", "sync"]) == 0
    assert "0 new or changed, 997 unchanged, 3 skipped" in capsys.readouterr().out
    assert len(customer_events(env)) == 997

    rows[500][1] = "Customer 500 (renamed)"      # sheet row 501
    rows[700][4] = "prefers mornings"            # sheet row 701: an attribute
    rows[900][3] = "+852-9000-0900"              # same number, written differently
    fake.add_sheet(SHEET_ID, "Customer List", rows)
    assert main(["customers", "sync"]) == 0
    assert "2 new or changed, 995 unchanged" in capsys.readouterr().out
    events = customer_events(env)
    assert len(events) == 999
    assert [e.data["phone"] for e in events[-2:]] == ["85290000500", "85290000700"]
    store = EventStore(env / "crm.db")
    try:
        assert get_customer(store.conn, "85290000500")["name"] == "Customer 500 (renamed)"
        assert get_customer(store.conn, "85290000700")["attributes"]["Notes"] == \
            "prefers mornings"
    finally:
        store.close()


def test_sheet_errors_are_reported_not_raised(env: Path, fake: FakeGoogle,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["customers", "sync"]) == 1
    assert "share it with the service account" in capsys.readouterr().err
    fake.add_sheet(SHEET_ID, "Customers", [["Phone"]])
    assert main(["customers", "sync"]) == 1
    assert "no worksheet 'Customer List'" in capsys.readouterr().err
    monkeypatch.setenv("GOOGLE_SHEET_WORKSHEET", "Customers")
    monkeypatch.setenv("CRM_CUSTOMERS_PHONE_COLUMN", "Mobile")
    assert main(["customers", "sync"]) == 1
    assert "no column 'Mobile' in the header row (columns: 'Phone')" in capsys.readouterr().err


def test_csv_import_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "\ufeffName;Mobile;Company\n"
        "Ana Lima;9123 4567;Kayak Club\n"
        "Bo;;\n"
        ";;\n"
        "\"Chan, Tai Man\";+852 6123 4567;\n"
        "Ana again;91234567;\n", encoding="utf-8")
    env = crm_env(data, CRM_DEFAULT_COUNTRY_CODE="+852", CRM_CUSTOMERS_PHONE_COLUMN="mobile")

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "crm.cli", "customers", "import",
                               str(csv_file)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)

    result = run()
    assert result.returncode == 0, result.stderr
    assert "csv:customers.csv: 4 rows, 2 new or changed, 0 unchanged, 2 skipped" in result.stdout
    assert "row 3: no phone number" in result.stdout
    assert "row 6: duplicate phone 85291234567 (first in row 2)" in result.stdout
    assert [e.data for e in customer_events(data)] == [
        {"phone": "85291234567", "name": "Ana Lima", "attributes": {"Company": "Kayak Club"},
         "source": "csv:customers.csv"},
        {"phone": "85261234567", "name": "Chan, Tai Man", "attributes": {},
         "source": "csv:customers.csv"}]
    again = run()
    assert again.returncode == 0 and "0 new or changed, 2 unchanged" in again.stdout
    missing = subprocess.run([sys.executable, "-m", "crm.cli", "customers", "import",
                              str(tmp_path / "nope.csv")], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no file" in missing.stderr
