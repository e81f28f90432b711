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

Each tree head also comes as a checkpoint (c2sp.org/tlog-checkpoint) that independent
witnesses cosign once they have checked it extends every head they saw before. Require some:

    python3 verify_evidence.py --witness VKEY --witness VKEY --quorum 2 key.json entry.json

(a VKEY is a witness's verifier key, ``name+id+key``, obtained from the witness itself.)

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


# Signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint) and witness
# cosignatures (c2sp.org/tlog-cosignature): the archive's tree heads in the format other
# transparency-log tools and witnesses read.
NOTE_ED25519 = 0x01
COSIGNATURE_ED25519 = 0x04
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space


def note_key_id(name, kind, public):
    """The 4-byte key id of ``name``'s key of signature type ``kind`` (signed-note)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def parse_vkey(vkey):
    """``name+hex id+base64(type || key)`` as (name, type, public key), its id checked."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3 or not parts[0]:
        raise ValueError("a verifier key is name+id+key")
    name, key_id, encoded = parts
    material = base64.b64decode(encoded, validate=True)
    kind, public = material[0], material[1:]
    if len(public) != 32 or kind not in (NOTE_ED25519, COSIGNATURE_ED25519):
        raise ValueError("not an Ed25519 verifier key (signature type 0x01 or 0x04)")
    if note_key_id(name, kind, public).hex() != key_id.lower():
        raise ValueError("the verifier key's id does not match its name and key")
    return name, kind, public


def split_note(note):
    """A signed note's text (with its final newline) and its signatures: (key name, key id,
    signature bytes) each. ValueError when it is not a signed note."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise ValueError("not a signed note: no blank line before the signature lines")
    found = []
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX) or line.count(" ") != 2:
            raise ValueError(f"not a signature line: {line[:80]!r}")
        name, encoded = line[len(SIGNATURE_PREFIX) :].split(" ")
        raw = base64.b64decode(encoded, validate=True)
        if len(raw) < 5:
            raise ValueError("a signature line too short to hold a key id and a signature")
        found.append((name, raw[:4], raw[4:]))
    return text + "\n", found


def with_signatures(note, lines):
    """``note`` with the signature ``lines`` it does not carry yet added at its end."""
    present = set(note.rstrip("\n").split("\n"))
    return note + "".join(f"{line}\n" for line in lines if line not in present)


def checkpoint_fields(text):
    """A checkpoint's origin, tree size and root hash (its first three lines)."""
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit() or lines[0] == "":
        raise ValueError("not a checkpoint: expected origin, size and root hash lines")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise ValueError("a checkpoint's root hash is 32 bytes")
    return lines[0], int(lines[1]), root


def cosigned_message(text, timestamp):
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def ed25519_valid(public, signature, message):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def note_signers(note, vkeys):
    """The names among ``vkeys`` whose signatures on ``note`` hold: a log's (type 0x01) over
    the text, a witness's (type 0x04) over its cosigned message, with the time it gives
    (None for a log's signature). Lines of unknown keys are ignored, as the format asks."""
    text, signatures = split_note(note)
    known = {}
    for vkey in vkeys:
        name, kind, public = parse_vkey(vkey)
        known[(name, note_key_id(name, kind, public))] = (kind, public)
    signed = {}
    for name, key_id, signature in signatures:
        if (name, key_id) not in known:
            continue
        kind, public = known[(name, key_id)]
        if kind == NOTE_ED25519 and ed25519_valid(public, signature, text.encode()):
            signed[name] = None
        elif kind == COSIGNATURE_ED25519 and len(signature) == 72:
            timestamp = int.from_bytes(signature[:8], "big")
            if ed25519_valid(public, signature[8:], cosigned_message(text, timestamp)):
                signed[name] = timestamp
    return signed


def archive_vkey(origin, public):
    """The verifier key of the archive's checkpoints: its origin is its key name."""
    key_id = note_key_id(origin, NOTE_ED25519, public).hex()
    return f"{origin}+{key_id}+{base64.b64encode(bytes([NOTE_ED25519]) + public).decode()}"


def checkpoint_checks(head, key, witnesses, quorum):
    """What a head's checkpoint says: the archive's signature, the same size and root as the
    head, and at least ``quorum`` cosignatures of the ``witnesses`` (verifier keys)."""
    note = head.get("checkpoint")
    if not note:
        return [("the tree head has a checkpoint", False)]
    text, _ = split_note(note)
    origin, size, root = checkpoint_fields(text)
    signers = note_signers(note, [archive_vkey(origin, key), *witnesses])
    checks = [
        (f"checkpoint of {origin} signed by the archive key", origin in signers),
        ("the checkpoint is the tree head's", size == head["size"] and root.hex() == head["root"]),
    ]
    if witnesses or quorum:
        cosigned = sorted(name for name, at in signers.items() if at is not None)
        checks.append(
            (
                "cosigned by {} of the witnesses given, {} needed ({})".format(
                    len(cosigned), quorum, ", ".join(cosigned) or "none"
                ),
                len(cosigned) >= quorum,
            )
        )
    return checks


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
    witnesses, quorum, rest = [], 0, []
    arguments = list(arguments)
    while arguments:
        argument = arguments.pop(0)
        if argument in ("--witness", "--quorum") and not arguments:
            print(__doc__)
            return 2
        if argument == "--witness":
            witnesses.append(arguments.pop(0))
        elif argument == "--quorum":
            quorum = int(arguments.pop(0))
        else:
            rest.append(argument)
    arguments = rest
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
        if witnesses or quorum or head.get("checkpoint"):
            checks.extend(checkpoint_checks(head, key, witnesses, quorum))
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
