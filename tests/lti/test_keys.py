"""This tool's keys: published at /.well-known/jwks.json, rotated without breaking what the
LMS holds (the old key stays published until it is retired), and the `grader lti` commands."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from grader import cli
from grader.service import db
from grader.service.lti import keys


def published(client) -> list[str]:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    key_set = response.get_json()
    for key in key_set["keys"]:
        assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256"
        assert "d" not in key and "p" not in key  # never the private half
    return [key["kid"] for key in key_set["keys"]]


def signed_kid(app) -> str:
    with db.database(app).sessionmaker.begin() as session:
        token = keys.sign(session, {"iss": "tool"})
    return jwt.decode(token, KeySet.import_key_set(published_kid_set(app))).header["kid"]


def published_kid_set(app):
    with db.database(app).sessionmaker() as session:
        return keys.public_key_set(session)


def test_a_first_key_is_made_and_published(client):
    assert len(published(client)) == 1
    assert len(published(client)) == 1  # the same one


def test_rotation_keeps_the_old_key_published_until_it_is_retired(app, client):
    [old] = published(client)
    with db.database(app).sessionmaker.begin() as session:
        new = keys.rotate(session).kid
    assert published(client) == [new, old]
    assert signed_kid(app) == new  # the new key signs; the old still verifies what it signed
    with db.database(app).sessionmaker.begin() as session:
        keys.retire(session, old)
    assert published(client) == [new]


def test_the_last_key_cannot_be_retired(app, client):
    [only] = published(client)
    with db.database(app).sessionmaker.begin() as session, pytest.raises(ValueError, match="only key"):
        keys.retire(session, only)


@pytest.fixture
def configured(monkeypatch, database_url):
    monkeypatch.setenv("GRADER_DATABASE_URL", database_url)


def run(capsys, *args):
    code = cli.main(["lti", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_rotates_lists_and_retires_keys(configured, capsys, client):
    [old] = published(client)
    code, out, _ = run(capsys, "rotate-key")
    assert code == 0 and "new signing key" in out
    [new, still_old] = published(client)
    assert still_old == old
    code, out, _ = run(capsys, "keys")
    assert out.splitlines()[0].startswith(new) and "(signs)" in out
    assert run(capsys, "retire-key", old)[0] == 0
    assert published(client) == [new]
    code, _, err = run(capsys, "retire-key", "no-such-key")
    assert code == 2 and "no published key" in err


def test_cli_registers_a_platform(configured, capsys, client):
    options = [
        "add-platform",
        "--issuer",
        "https://canvas.instructure.com",
        "--client-id",
        "10000000000001",
        "--deployment-id",
        "1:abc",
        "--auth-login-url",
        "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "--auth-token-url",
        "https://sso.canvaslms.com/login/oauth2/token",
        "--key-set-url",
        "https://sso.canvaslms.com/api/lti/security/jwks",
    ]
    code, out, _ = run(capsys, *options)
    assert code == 0 and "registered" in out
    code, _, err = run(capsys, *options)
    assert code == 2 and "registered already" in err
    code, _, err = run(capsys, *options[:-1], "not a url")
    assert code == 2 and "key_set_url" in err
