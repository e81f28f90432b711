"""Signed WACZ packages, checked by the tools that read them: py-wacz's validator, authsign's
verifier (domain mode, with this test's own CA and time-stamping authority as the trusted roots),
the WebCrypto check ReplayWeb.page makes of anonymous signatures (run in Node's WebCrypto), and
the archive's standalone verifier, which must also reject a changed package.
Pages: the simulator's (src/samizdat/testing/pages/wechat/PROVENANCE.md)."""

import base64
import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from samizdat.app import pipeline
from samizdat.archive.storage import warc_storage
from samizdat.archive.wacz import write_wacz
from samizdat.config import PackageSettings, TimestampSettings
from samizdat.evidence.keys import archive_key, key_document, package_key
from samizdat.evidence.packages import PackageSigningError, certificate_request, package_signer
from samizdat.read.reader import Reader
from tests.helpers import fast_archive_settings, local_tsa

VERIFIER = Path(__file__).parent.parent / "src" / "samizdat" / "evidence" / "verify_evidence.py"
WACZ = [sys.executable, "-c", "import sys; from wacz.main import main; sys.exit(main())"]

# What ReplayWeb.page (wabac.js, src/wacz/certutils.ts) does with an anonymous signature.
WEBCRYPTO_CHECK = """
import { readFileSync } from "fs";
const data = JSON.parse(readFileSync(process.argv[1], "utf8")).signedData;
const key = await crypto.subtle.importKey("spki", Buffer.from(data.publicKey, "base64"),
  {name: "ECDSA", namedCurve: "P-384"}, true, ["verify"]);
const ok = await crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, key,
  Buffer.from(data.signature, "base64"), new TextEncoder().encode(data.hash));
console.log(ok ? "valid" : "invalid");
"""


async def _archive(settings, sim) -> list[int]:
    async with pipeline(settings) as pipe:
        return [(await pipe.capturer.capture(sim.base + a.path)).article_id for a in sim.articles[:2]]


def _package(settings, ids, path: Path) -> Path:
    from samizdat.store import open_archive

    store = open_archive(settings)
    try:
        refs, pages = Reader(store.engine).package(ids)
    finally:
        store.engine.dispose()
    write_wacz(path, warc_storage(settings), refs, pages, title="test", sign=package_signer(settings))
    return path


def _verify(tmp_path, settings, package: Path) -> subprocess.CompletedProcess:
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(key_document(archive_key(settings.data_dir), settings.data_dir)))
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(key_file), str(package)], capture_output=True, text=True
    )


def _digest(package: Path) -> dict:
    with zipfile.ZipFile(package) as opened:
        return json.loads(opened.read("datapackage-digest.json"))


def _rewritten(package: Path, target: Path, name: str, change) -> Path:
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(target, "w") as out:
        for item in source.infolist():
            content = source.read(item)
            out.writestr(item, change(content) if item.filename == name else content)
    return target


@pytest.mark.slow
async def test_an_anonymous_signature_holds_for_every_reader_and_a_changed_package_fails(tmp_path, simulator):
    settings = fast_archive_settings(tmp_path / "data", simulator)
    ids = await _archive(settings, simulator)
    archive_key(settings.data_dir)
    package = _package(settings, ids, tmp_path / "article.wacz")
    signed = _digest(package)["signedData"]
    assert signed["hash"] == _digest(package)["hash"] and "publicKey" in signed

    validated = subprocess.run([*WACZ, "validate", "-f", str(package)], capture_output=True, text=True)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "Has signature" in validated.stdout  # py-wacz saw the block and its `created` matches

    node = shutil.which("node")
    assert node, "Node.js is needed to check the signature with WebCrypto (Debian package nodejs)"

    def webcrypto(digest: dict) -> str:
        (tmp_path / "digest.json").write_text(json.dumps(digest))
        checked = subprocess.run(
            [node, "--input-type=module", "-e", WEBCRYPTO_CHECK, "--", str(tmp_path / "digest.json")],
            capture_output=True,
            text=True,
        )
        return checked.stdout.strip() or checked.stderr

    assert webcrypto(_digest(package)) == "valid"
    other_hash = dict(signed, hash="sha256:" + "0" * 64)
    assert webcrypto({"signedData": other_hash}) == "invalid"

    genuine = _verify(tmp_path, settings, package)
    assert genuine.returncode == 0 and "FAIL" not in genuine.stdout, genuine.stdout

    changed = _rewritten(
        package, tmp_path / "changed.wacz", "pages/pages.jsonl", lambda b: b.replace(b"test", b"TEST")
    )
    caught = _verify(tmp_path, settings, changed)
    assert caught.returncode == 1 and "FAIL pages/pages.jsonl is as the package lists it" in caught.stdout

    def forged(content: bytes) -> bytes:  # the list rewritten to match, the digest too: the signature fails
        digest = json.loads(content)
        digest["hash"] = digest["signedData"]["hash"] = "sha256:" + "0" * 64
        return json.dumps(digest).encode()

    refused = _verify(
        tmp_path, settings, _rewritten(package, tmp_path / "forged.wacz", "datapackage-digest.json", forged)
    )
    assert "FAIL the package is signed by the archive's package key" in refused.stdout


def _certificate(subject: str, public_key, issuer_name: str, issuer_key, *, ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, issuer_name)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.mark.slow
async def test_a_domain_signature_is_accepted_by_authsign_with_its_roots(tmp_path, simulator):
    from authsign.verifier import Verifier

    settings = fast_archive_settings(tmp_path / "data", simulator)
    ids = await _archive(settings, simulator)
    archive_key(settings.data_dir)
    request = x509.load_pem_x509_csr(certificate_request(package_key(settings.data_dir), "archive.test"))
    assert request.is_signature_valid

    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate("test domain root", root_key.public_key(), "test domain root", root_key, ca=True)
    leaf = _certificate("archive.test", request.public_key(), "test domain root", root_key, ca=False)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM)
    )

    with local_tsa(tmp_path / "tsa") as (authority, tsa_root):
        signing = dataclasses.replace(
            settings,
            packages=PackageSettings(domain="archive.test", domain_cert=str(chain)),
            timestamps=TimestampSettings(authorities=(authority,), ca_file=str(tsa_root)),
        )
        package = _package(signing, ids, tmp_path / "article.wacz")

        other = tmp_path / "other.pem"  # a certificate of another key is refused before signing
        other.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        with pytest.raises(PackageSigningError, match="another key"):
            package_signer(dataclasses.replace(signing, packages=PackageSettings("archive.test", str(other))))

    def fingerprint(pem: bytes) -> str:
        return hashlib.sha256(
            x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        ).hexdigest()

    roots = tmp_path / "roots.yaml"
    roots.write_text(
        json.dumps(
            {
                "domain_cert_roots": [fingerprint(root.public_bytes(serialization.Encoding.PEM))],
                "timestamp_cert_roots": [fingerprint(tsa_root.read_bytes())],
            }
        )
    )  # YAML reads JSON
    signed = _digest(package)["signedData"]
    verified = Verifier(trusted_roots_filename=str(roots))(signed)
    assert verified.observer == "archive.test"
    stamped = datetime.strptime(verified.timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(stamped - datetime.now(UTC)) < timedelta(minutes=5)

    validated = subprocess.run([*WACZ, "validate", "-f", str(package)], capture_output=True, text=True)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    genuine = _verify(tmp_path, settings, package)
    assert genuine.returncode == 0, genuine.stdout

    untrusted = tmp_path / "untrusted.yaml"
    untrusted.write_text(json.dumps({"domain_cert_roots": ["00" * 32], "timestamp_cert_roots": []}))
    with pytest.raises(AssertionError):
        Verifier(trusted_roots_filename=str(untrusted))(signed)

    forged = dict(signed, signature=base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode())
    with pytest.raises(AssertionError):
        Verifier(trusted_roots_filename=str(roots))(forged)
