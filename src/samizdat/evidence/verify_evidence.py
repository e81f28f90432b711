#!/usr/bin/env python3
"""Check a samizdat archive's evidence yourself, without samizdat.

Needs Python 3.9+ and the `cryptography` package (pip install cryptography). Give it what the
archive publishes:

    curl -o key.json   https://ARCHIVE/api/log/key
    curl -o entry.json https://ARCHIVE/api/log/entries/SEQ
    python3 verify_evidence.py key.json entry.json
    curl -o cons.json  "https://ARCHIVE/api/log/consistency?first=OLD&second=NEW"
    python3 verify_evidence.py key.json cons.json
    curl -o article.wacz https://ARCHIVE/articles/ID.wacz
    python3 verify_evidence.py key.json article.wacz

For an entry it checks that (1) the tree head is signed by the key, over the bytes it rebuilds
from the head's size, root and time, and (2) the entry, hashed as it is given, is at its place
in the tree under that head (RFC 9162 inclusion proof). For a consistency proof it checks both
heads' signatures and that the older tree is a prefix of the newer one: nothing logged before
was changed or dropped since. For a WACZ package it checks every file against the package's
list of SHA-256 digests, that list against the signed digest, the signature (WACZ signing
specification) against the archive's package key, and that key's endorsement by the archive
key. Compare the key id with one you obtained some other way (the
archive's site, a printout, a copy a colleague kept): a signature only tells who signed.

Exit status 0 when everything holds, 1 otherwise, with one line per check.
"""

import base64
import hashlib
import json
import sys
import zipfile
from datetime import datetime, timezone


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162, section 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162, section 2.1.4.2."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def head_message(head):
    """The bytes a tree head's signature covers, rebuilt from the head itself."""
    when = datetime.fromisoformat(head["signed_at"]).astimezone(timezone.utc)  # noqa: UP017 (Python 3.9)
    text = "samizdat tree head v1\n{}\n{}\n{}\n".format(
        head["size"], head["root"], when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    )
    return text.encode()


def head_signed(head, key):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if head["key_id"] != hashlib.sha256(key).hexdigest():
        return False
    try:
        signature = base64.b64decode(head["signature"])
        Ed25519PublicKey.from_public_bytes(key).verify(signature, head_message(head))
    except (InvalidSignature, ValueError):
        return False
    return True


def package_signed(signed, package_key):
    """Whether the WACZ ``signedData`` holds for the package key (SPKI DER): the raw ``r||s``
    signature of the anonymous mode, or the DER one of a domain certificate for that key."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if "domainCert" in signed:
        public = x509.load_pem_x509_certificates(signed["domainCert"].encode())[0].public_key()
    else:
        public = serialization.load_der_public_key(base64.b64decode(signed["publicKey"]))
    der_public = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if der_public != package_key:
        return False
    signature = base64.b64decode(signed["signature"])
    if "domainCert" not in signed:
        half = len(signature) // 2
        signature = encode_dss_signature(
            int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        )
    try:
        public.verify(signature, signed["hash"].encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def package_checks(key_document, key, path):
    """What a WACZ package's digests and signature say, one (check, holds) each."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    checks = []
    with zipfile.ZipFile(path) as package:
        listing = package.read("datapackage.json")
        digest = json.loads(package.read("datapackage-digest.json"))
        for resource in json.loads(listing)["resources"]:
            found = "sha256:" + hashlib.sha256(package.read(resource["path"])).hexdigest()
            checks.append(
                ("{} is as the package lists it".format(resource["path"]), found == resource["hash"])
            )
    listed = "sha256:" + hashlib.sha256(listing).hexdigest()
    checks.append(("the list of files is the one the digest names", listed == digest["hash"]))
    signed = digest.get("signedData")
    published = key_document.get("package_key")
    if signed is None or published is None:
        checks.append(("the package is signed by the archive's package key", False))
        return checks
    package_key = base64.b64decode(published["public_key"])
    try:
        endorsement = base64.b64decode(published["endorsement"])
        Ed25519PublicKey.from_public_bytes(key).verify(endorsement, b"samizdat package key\n" + package_key)
        endorsed = True
    except (InvalidSignature, ValueError):
        endorsed = False
    checks.append(("the package key is endorsed by the archive key", endorsed))
    checks.append(("the signature covers this package", signed["hash"] == digest["hash"]))
    checks.append(("the package is signed by the archive's package key", package_signed(signed, package_key)))
    return checks


def main(arguments):
    if len(arguments) != 2:
        print(__doc__)
        return 2
    with open(arguments[0], encoding="utf-8") as handle:
        key_document = json.load(handle)
    key = base64.b64decode(key_document["public_key"])
    print("key id:", hashlib.sha256(key).hexdigest())
    if zipfile.is_zipfile(arguments[1]):
        return report(package_checks(key_document, key, arguments[1]))
    with open(arguments[1], encoding="utf-8") as handle:
        evidence = json.load(handle)
    checks = []
    if "entry" in evidence:
        head = evidence["tree_head"]
        signed = head_signed(head, key)
        checks.append(("tree head of {} entries signed by the key".format(head["size"]), signed))
        included = verify_inclusion(
            evidence["seq"],
            head["size"],
            leaf_hash(evidence["entry"].encode("utf-8")),
            [bytes.fromhex(p) for p in evidence["proof"]],
            bytes.fromhex(head["root"]),
        )
        checks.append(("entry {} is in that tree, as given".format(evidence["seq"]), included))
    else:
        first, second = evidence["first"], evidence["second"]
        checks.append(("older head signed by the key", head_signed(first, key)))
        checks.append(("newer head signed by the key", head_signed(second, key)))
        consistent = verify_consistency(
            first["size"],
            second["size"],
            bytes.fromhex(first["root"]),
            bytes.fromhex(second["root"]),
            [bytes.fromhex(p) for p in evidence["proof"]],
        )
        checks.append(("the older tree is a prefix of the newer one", consistent))
    return report(checks)


def report(checks):
    for what, holds in checks:
        print("ok  " if holds else "FAIL", what)
    return 0 if all(holds for _, holds in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
