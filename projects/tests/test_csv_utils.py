import pytest

from projects.csv_utils import BOM, csv_response, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+61 8 9000 0000", "'+61 8 9000 0000"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindent", "'\tindent"),
        ("\rreturn", "'\rreturn"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_cells_that_start_a_formula_are_neutralised(value, expected):
    assert safe_cell(value) == expected


def test_download_starts_with_a_bom_and_neutralises_the_header_too():
    response = csv_response("x.csv", ["=name"], [["Zoë", "-1"]])

    body = response.content.decode("utf-8")
    assert body.startswith(BOM)
    assert body[1:] == "'=name\r\nZoë,'-1\r\n"
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
