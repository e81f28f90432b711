"""Signed WACZ packages, as the WACZ Signing and Verification specification (0.1.0) has them:
``datapackage-digest.json`` carries ``signedData``, a signature of the package's hash.

Two modes, as the specification has them:

- **anonymous** (always possible): the archive's package key (ECDSA P-384) signs the hash; its
  public half travels in the block (``publicKey``, SPKI in base64) and the signature is the raw
  ``r‖s`` of WebCrypto, which is how ArchiveWeb.page signs and ReplayWeb.page checks. Who holds
  the key is known from the archive's published key document, whose Ed25519 key endorses it.
- **domain** (``packages.domain`` and ``packages.domain_cert`` set, and a time-stamping
  authority in ``timestamps.authorities``): as ``authsign`` signs and checks — the signature in
  DER by the key a certificate for the domain certifies (the package key: ``samizdat log csr``
  asks for that certificate), the certificate chain, and an RFC 3161 token of the signature
  with the authority's chain. authsign accepts a signature made within 7 days of the
  certificate's issue and 10 minutes before its stamp: renew the certificate weekly.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from samizdat import __version__
from samizdat.config import Settings
from samizdat.evidence.keys import package_key, spki
from samizdat.evidence.timestamps import stamp, token_certificates

SIGNING_VERSION = "0.1.0"

PackageSigner = Callable[[str, str], dict]
"""Given a package's hash (``sha256:…``) and its ``created`` time, the ``signedData`` block."""


class PackageSigningError(ValueError):
    """The settings ask for a signature that cannot be made: says which and how to mend it."""


def raw_signature(der: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """A DER ECDSA signature as WebCrypto's fixed-width ``r‖s``."""
    r, s = decode_dss_signature(der)
    width = (key.curve.key_size + 7) // 8
    return r.to_bytes(width, "big") + s.to_bytes(width, "big")


def anonymous_signer(key: ec.EllipticCurvePrivateKey) -> PackageSigner:
    public = base64.b64encode(spki(key.public_key())).decode()

    def sign(package_hash: str, created: str) -> dict:
        der = key.sign(package_hash.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        return {
            "hash": package_hash,
            "created": created,
            "software": f"samizdat {__version__}",
            "version": SIGNING_VERSION,
            "publicKey": public,
            "signature": base64.b64encode(raw_signature(der, key)).decode(),
        }

    return sign


def domain_signer(
    key: ec.EllipticCurvePrivateKey, domain: str, chain: str, authority: str, *, timeout: float
) -> PackageSigner:
    def sign(package_hash: str, created: str) -> dict:
        signature = base64.b64encode(
            key.sign(package_hash.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        ).decode()
        token = stamp(authority, signature.encode("ascii"), timeout=timeout)
        return {
            "hash": package_hash,
            "created": created,
            "software": f"samizdat {__version__}",
            "version": SIGNING_VERSION,
            "signature": signature,
            "domain": domain,
            "domainCert": chain,
            "timeSignature": base64.b64encode(token).decode(),
            "timestampCert": token_certificates(token),
        }

    return sign


def package_signer(settings: Settings) -> PackageSigner | None:
    """The signer the settings ask for; None while the archive has no package key yet."""
    key = package_key(settings.data_dir)
    if key is None:
        return None
    packages = settings.packages
    if not packages.domain:
        return anonymous_signer(key)
    if not packages.domain_cert:
        raise PackageSigningError(
            "packages.domain is set but packages.domain_cert is not: name the PEM chain"
        )
    if not settings.timestamps.authorities:
        raise PackageSigningError(
            "a domain signature needs a time-stamping authority: set timestamps.authorities"
        )
    chain = _domain_chain(Path(packages.domain_cert), key)
    return domain_signer(
        key, packages.domain, chain, settings.timestamps.authorities[0], timeout=settings.timestamps.timeout
    )


def _domain_chain(path: Path, key: ec.EllipticCurvePrivateKey) -> str:
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise PackageSigningError(f"packages.domain_cert {path}: {exc}") from None
    if spki(certificates[0].public_key()) != spki(key.public_key()):
        raise PackageSigningError(
            f"packages.domain_cert {path} certifies another key than the archive's package key: "
            "ask for a certificate with the request `samizdat log csr DOMAIN` writes"
        )
    # ReplayWeb.page splits the chain on blank lines; authsign reads every PEM block.
    return "\n".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def certificate_request(key: ec.EllipticCurvePrivateKey, domain: str) -> bytes:
    """A PEM certificate signing request for ``domain`` over the package key (for ACME: certbot
    ``certonly --csr``)."""
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, domain)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM)
