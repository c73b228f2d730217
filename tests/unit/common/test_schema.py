"""ghost_common.schema: a client's tls_config and the context it builds."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from pydantic import ValidationError

from ghost_common.schema import TLSConfig, client_context


def test_files_are_taken_from_base_dir_when_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("client.example")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    tls = TLSConfig(ca_file="ca.pem", cert_file="client.pem", key_file="client.key")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ctx = client_context(tls, tmp_path)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert len(ctx.get_ca_certs()) == 1  # the CA of ca.pem, and only it
    with pytest.raises(FileNotFoundError):  # without base_dir: the working directory
        client_context(tls)
    monkeypatch.chdir(tmp_path)
    assert client_context(tls).get_ca_certs() == ctx.get_ca_certs()


def test_insecure_skip_verify_turns_verification_off() -> None:
    ctx = client_context(TLSConfig(insecure_skip_verify=True))
    assert ctx.verify_mode == ssl.CERT_NONE
    assert not ctx.check_hostname


def test_cert_and_key_go_together() -> None:
    with pytest.raises(ValidationError, match="cert_file and key_file must be set together"):
        TLSConfig(cert_file="client.pem")
