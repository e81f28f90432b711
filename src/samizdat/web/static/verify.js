// An article's page checks itself in the reader's browser, with nothing but what the page
// carries (it makes no request, so it works from file:// and any static host):
//   1. the title and text of the version shown hash to the content_hash its capture's log
//      entry recorded, and the title shown is that title;
//   2. each of the article's log entries is in the tree of the checkpoint (RFC 9162 inclusion);
//   3. the checkpoint is signed by the archive's key (c2sp.org/signed-note, Ed25519);
//   4. the witnesses named cosigned that checkpoint (c2sp.org/tlog-cosignature), a quorum of them.
// The same checks as verify_evidence.py, which the archive serves and bundles. Where the
// browser's WebCrypto has no Ed25519 (or, outside a secure context, no WebCrypto at all), the
// page loads noble.js beside this script: the audited noble libraries, bundled.
"use strict";
(function () {
  const box = document.getElementById("verification");
  if (!box) return;
  const here = document.currentScript.src;
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const proofs = read("verification-proofs");
  const shown = read("verification-shown");
  const say = read("verification-messages");
  const encoder = new TextEncoder();

  const fill = (key, values) =>
    say[key].replace(/\{(\w+)\}/g, (_, name) => (name in (values || {}) ? String(values[name]) : ""));
  const bytesOf = (text) => encoder.encode(text);
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const fromHex = (text) => new Uint8Array(text.match(/../g).map((pair) => parseInt(pair, 16)));
  const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const join = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  };
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  let backend; // { sha256(data), ed25519(publicKey, signature, message) }: WebCrypto's or noble's
  const sha256 = (data) => backend.sha256(data);
  const leafHash = (entry) => sha256(join(new Uint8Array([0]), entry));
  const nodeHash = (left, right) => sha256(join(new Uint8Array([1]), left, right));

  // Python's str.split() whitespace, so that the text hashes as the archive hashed it.
  const SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
  const words = (text) => text.split(SPACE).filter(Boolean).join(" ");

  async function included(index, size, leaf, proof, root) {
    // RFC 9162, section 2.1.3.2 (numbers as plain integers: a log under 2^53 entries).
    if (index < 0 || index >= size) return false;
    let fn = index, sn = size - 1, r = leaf;
    for (const p of proof) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn !== 0 && fn % 2 === 0) {
            fn = Math.floor(fn / 2);
            sn = Math.floor(sn / 2);
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && same(r, root);
  }

  const ed25519 = (publicKey, signature, message) => backend.ed25519(publicKey, signature, message);

  async function webCrypto(probeKey) {
    if (!(window.crypto && crypto.subtle)) return null;
    try {
      await crypto.subtle.importKey("raw", probeKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      return null; // no Ed25519 here (NotSupportedError, or an older browser's own error)
    }
    return {
      name: "WebCrypto",
      sha256: async (data) => new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
      ed25519: async (publicKey, signature, message) => {
        const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
        return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
      },
    };
  }

  function noble() {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = here.replace(/verify\.js(\?.*)?$/, "noble.js");
      script.onload = () =>
        resolve({
          name: "noble",
          sha256: async (data) => window.samizdatNoble.sha256(data),
          ed25519: async (publicKey, signature, message) => {
            try {
              return window.samizdatNoble.verify(signature, message, publicKey);
            } catch (error) {
              return false; // a malformed key or signature does not verify
            }
          },
        });
      script.onerror = () => reject(new Error("noble.js, which checks signatures in this browser, did not load"));
      document.head.appendChild(script);
    });
  }

  async function keyId(name, kind, publicKey) {
    return (await sha256(join(bytesOf(name + "\n"), new Uint8Array([kind]), publicKey))).slice(0, 4);
  }

  function splitNote(note) {
    const cut = note.lastIndexOf("\n\n");
    const signatures = note
      .slice(cut + 2)
      .split("\n")
      .filter((line) => line.startsWith("\u2014 "))
      .map((line) => {
        const [name, encoded] = line.slice(2).split(" ");
        const raw = fromBase64(encoded);
        return { name, id: raw.slice(0, 4), signature: raw.slice(4) };
      });
    return { text: note.slice(0, cut + 1), signatures };
  }

  function parseVkey(vkey) {
    const first = vkey.indexOf("+");
    const second = vkey.indexOf("+", first + 1);
    const material = fromBase64(vkey.slice(second + 1));
    return { name: vkey.slice(0, first), kind: material[0], publicKey: material.slice(1) };
  }

  const when = (seconds) => new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";

  async function check() {
    backend = (await webCrypto(fromBase64(proofs.key))) || (await noble());
    box.dataset.crypto = backend.name;
    const checks = []; // [holds, message]
    const note = splitNote(proofs.checkpoint);
    const [origin, sizeLine, rootLine] = note.text.split("\n");
    const size = Number(sizeLine);
    const root = fromBase64(rootLine);
    const archiveKey = fromBase64(proofs.key);

    if (shown) {
      const capture = proofs.entries
        .map((e) => ({ seq: e.seq, body: JSON.parse(e.entry) }))
        .find((e) => e.body.version === shown.version && e.body.content_hash);
      if (!capture) {
        checks.push([false, fill("verify.text_missing")]);
      } else {
        const digest = hex(await sha256(bytesOf(words(shown.title) + "\n" + words(shown.text))));
        const holds = digest === capture.body.content_hash;
        checks.push([holds, fill(holds ? "verify.text_ok" : "verify.text_bad", { seq: capture.seq })]);
      }
      const heading = document.querySelector("article h1");
      if (shown.title && heading && words(heading.textContent) !== words(shown.title)) {
        checks.push([false, fill("verify.title_bad")]);
      }
    }
    for (const entry of proofs.entries) {
      const holds = await included(entry.seq, size, await leafHash(bytesOf(entry.entry)), entry.proof.map(fromHex), root);
      checks.push([holds, fill(holds ? "verify.entry_ok" : "verify.entry_bad", { seq: entry.seq, size })]);
    }
    const ownId = await keyId(origin, 0x01, archiveKey);
    const own = note.signatures.find((s) => s.name === origin && same(s.id, ownId));
    const signed = !!own && (await ed25519(archiveKey, own.signature, bytesOf(note.text)));
    const fingerprint = hex(await sha256(archiveKey)).slice(0, 16);
    checks.push([signed, fill(signed ? "verify.head_ok" : "verify.head_bad", { key: fingerprint })]);

    const cosigned = [];
    for (const vkey of proofs.witnesses) {
      const witness = parseVkey(vkey);
      const id = await keyId(witness.name, 0x04, witness.publicKey);
      const line = note.signatures.find((s) => s.name === witness.name && same(s.id, id));
      if (!line || line.signature.length !== 72) {
        checks.push([null, fill("verify.witness_missing", { name: witness.name })]);
        continue;
      }
      const time = new DataView(line.signature.buffer, line.signature.byteOffset).getBigUint64(0);
      const message = join(bytesOf(`cosignature/v1\ntime ${time}\n`), bytesOf(note.text));
      const holds = await ed25519(witness.publicKey, line.signature.slice(8), message);
      checks.push([holds, fill(holds ? "verify.witness_ok" : "verify.witness_bad", { name: witness.name, time: when(Number(time)) })]);
      if (holds) cosigned.push(Number(time));
    }

    let verdict, state;
    if (checks.some(([holds]) => holds === false)) {
      [verdict, state] = [fill("verify.failed"), "failed"];
    } else if (proofs.witnesses.length === 0) {
      [verdict, state] = [fill("verify.no_witnesses"), "unwitnessed"];
    } else if (cosigned.length < proofs.quorum || cosigned.length === 0) {
      [verdict, state] = [fill("verify.unwitnessed", { n: cosigned.length, quorum: proofs.quorum }), "unwitnessed"];
    } else {
      [verdict, state] = [fill("verify.verified", { n: cosigned.length, time: when(Math.min(...cosigned)) }), "verified"];
    }
    return { verdict, state, checks };
  }

  function show({ verdict, state, checks }) {
    box.dataset.state = state;
    document.getElementById("verification-result").textContent = verdict;
    const list = document.getElementById("verification-checks");
    list.textContent = "";
    for (const [holds, message] of checks) {
      const item = document.createElement("li");
      item.className = holds === true ? "holds" : holds === false ? "fails" : "absent";
      item.textContent = (holds === true ? "\u2713 " : holds === false ? "\u2717 " : "\u2013 ") + message;
      list.appendChild(item);
    }
  }

  check().then(show, (error) =>
    show(
      backend
        ? { verdict: fill("verify.failed"), state: "failed", checks: [[false, String(error)]] } // unreadable proofs
        : { verdict: fill("verify.unsupported"), state: "unsupported", checks: [[null, String(error)]] }
    )
  );
})();
