//! OpenPGP (RFC 4880) signatures of commits, as `git commit -S` writes
//! them with GnuPG: an armored detached version-4 signature over the commit
//! object without its `gpgsig` header, checked against allowed public keys
//! given as armored key blocks (`gpg --armor --export`).
//!
//! Supported: RSA (PKCS#1 v1.5) and EdDSA over Ed25519 (GnuPG's `ed25519`
//! keys) for primary keys and for signing subkeys bound to them by a valid
//! binding signature; SHA-224/256/384/512 digests; binary-document
//! signatures (type 0x00). A key revoked by its own revocation signature
//! signs nothing. Refused with a reason: SHA-1 and other digests, other
//! algorithms, version 3, 5 and 6 packets.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

const SIG_BEGIN: &str = "-----BEGIN PGP SIGNATURE-----";
const SIG_END: &str = "-----END PGP SIGNATURE-----";
const KEY_BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const KEY_END: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// The OID of Ed25519 in EdDSA keys (1.3.6.1.4.1.11591.15.1).
const ED25519_OID: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01];

const TAG_SIGNATURE: u8 = 2;
const TAG_PUBLIC_KEY: u8 = 6;
const TAG_USER_ID: u8 = 13;
const TAG_PUBLIC_SUBKEY: u8 = 14;

const ALGO_RSA: u8 = 1;
const ALGO_RSA_SIGN: u8 = 3;
const ALGO_EDDSA: u8 = 22;

const SIG_BINARY: u8 = 0x00;
const SIG_SUBKEY_BINDING: u8 = 0x18;
const SIG_KEY_REVOCATION: u8 = 0x20;

/// A public key that can verify signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verifier {
    Rsa(rsa::RsaPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// One key of a certificate: its v4 fingerprint and what verifies with it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    fingerprint: [u8; 20],
    verifier: Verifier,
}

impl Key {
    fn key_id(&self) -> &[u8] {
        &self.fingerprint[12..]
    }
}

/// An OpenPGP certificate: the primary key, its first user id, and the
/// subkeys it bound for signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cert {
    primary: Key,
    /// The first user id (`Name <email>`), for messages.
    pub user_id: String,
    signing_subkeys: Vec<Key>,
    revoked: bool,
}

impl Cert {
    /// The primary key's fingerprint, 40 upper-case hex digits.
    pub fn fingerprint(&self) -> String {
        hex::encode_upper(self.primary.fingerprint)
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.primary).chain(&self.signing_subkeys)
    }
}

/// Parses every `PUBLIC KEY BLOCK` in `text`.
pub(crate) fn parse_certs(text: &str) -> Result<Vec<Cert>, String> {
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(KEY_BEGIN) {
        let block = &rest[start..];
        let end = block
            .find(KEY_END)
            .ok_or("an OpenPGP key block has no END line")?;
        let bytes = dearmor(&block[..end + KEY_END.len()], KEY_BEGIN, KEY_END)?;
        certs.extend(certs_from_packets(&bytes)?);
        rest = &block[end + KEY_END.len()..];
    }
    if certs.is_empty() {
        return Err("no OpenPGP public key block".into());
    }
    Ok(certs)
}

/// What verifying a signature found.
#[derive(Debug)]
pub(crate) struct Checked {
    /// Fingerprint of the key that made the signature (upper-case hex), when
    /// the signature names it or an allowed key matched.
    pub fingerprint: Option<String>,
    /// The certificate that verified it, with `Ok`.
    pub result: Result<usize, String>,
}

/// Verifies an armored detached signature of `payload` against `certs`;
/// `Ok` carries the index of the certificate whose key made it.
pub(crate) fn verify(armored: &str, payload: &[u8], certs: &[&Cert]) -> Checked {
    let fail = |fingerprint, e: String| Checked {
        fingerprint,
        result: Err(e),
    };
    let sig = match dearmor(armored, SIG_BEGIN, SIG_END)
        .and_then(|b| {
            let (tag, body, rest) = packet(&b)?;
            if tag != TAG_SIGNATURE || !rest.is_empty() {
                return Err("not a single signature packet".into());
            }
            Ok(body.to_vec())
        })
        .and_then(|b| Signature::parse(&b))
    {
        Ok(s) => s,
        Err(e) => return fail(None, format!("bad OpenPGP signature: {e}")),
    };
    let named = sig.issuer_fingerprint.map(hex::encode_upper);
    if sig.sig_type != SIG_BINARY {
        return fail(
            named,
            format!(
                "OpenPGP signature of type {:#04x}, not a binary document signature",
                sig.sig_type
            ),
        );
    }
    let issuer = sig.issuer_key_id();
    let found = certs.iter().enumerate().find_map(|(i, c)| {
        c.keys()
            .find(|k| match (&sig.issuer_fingerprint, &issuer) {
                (Some(f), _) => k.fingerprint == *f,
                (None, Some(id)) => k.key_id() == id.as_slice(),
                (None, None) => false,
            })
            .map(|k| (i, c, k))
    });
    let Some((i, cert, key)) = found else {
        let who = named.clone().or_else(|| issuer.map(hex::encode_upper));
        return fail(
            named,
            match who {
                Some(w) => format!("signed by OpenPGP key {w}, which is not an allowed key"),
                None => "the OpenPGP signature names no issuer key".into(),
            },
        );
    };
    let fingerprint = Some(hex::encode_upper(key.fingerprint));
    if cert.revoked {
        return fail(
            fingerprint,
            format!("OpenPGP key {} is revoked", cert.fingerprint()),
        );
    }
    match sig.check(key, &[payload]) {
        Ok(()) => Checked {
            fingerprint,
            result: Ok(i),
        },
        Err(e) => fail(
            fingerprint,
            format!(
                "bad OpenPGP signature by key {}: {e}",
                hex::encode_upper(key.fingerprint)
            ),
        ),
    }
}

/// The bytes inside armor lines, after the armor headers; the CRC-24
/// checksum line, when present, must match.
fn dearmor(armored: &str, begin: &str, end: &str) -> Result<Vec<u8>, String> {
    let body = armored
        .trim()
        .strip_prefix(begin)
        .and_then(|r| r.trim_end().strip_suffix(end))
        .ok_or("armor lines missing")?;
    let mut lines = body.lines().map(str::trim).peekable();
    // Armor headers ("Comment: …") end at the first empty line.
    if body.lines().any(|l| l.contains(": ")) {
        for l in lines.by_ref() {
            if l.is_empty() {
                break;
            }
        }
    }
    let mut b64 = String::new();
    let mut crc = None;
    for l in lines {
        if let Some(c) = l.strip_prefix('=') {
            crc = Some(c.to_owned());
        } else {
            b64.push_str(l);
        }
    }
    let bytes = STANDARD
        .decode(b64)
        .map_err(|e| format!("bad base64: {e}"))?;
    if let Some(c) = crc {
        let want = STANDARD
            .decode(c)
            .map_err(|e| format!("bad checksum line: {e}"))?;
        let got = crc24(&bytes).to_be_bytes();
        if want.as_slice() != &got[1..] {
            return Err("armor checksum does not match".into());
        }
    }
    Ok(bytes)
}

/// RFC 4880's CRC-24.
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xB7_04CE;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x100_0000 != 0 {
                crc ^= 0x186_4CFB;
            }
        }
    }
    crc & 0xFF_FFFF
}

/// The first packet of `data`: (tag, body, rest).
fn packet(data: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&first, rest) = data.split_first().ok_or("no packet")?;
    if first & 0x80 == 0 {
        return Err("not an OpenPGP packet".into());
    }
    let take = |n: usize, rest: &[u8]| -> Result<usize, String> {
        let b = rest.get(..n).ok_or("truncated packet length")?;
        Ok(b.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)))
    };
    let (tag, len, header) = if first & 0x40 != 0 {
        let tag = first & 0x3F;
        let &o1 = rest.first().ok_or("truncated packet length")?;
        match o1 {
            0..=191 => (tag, usize::from(o1), 1),
            192..=223 => {
                let &o2 = rest.get(1).ok_or("truncated packet length")?;
                (
                    tag,
                    ((usize::from(o1) - 192) << 8) + usize::from(o2) + 192,
                    2,
                )
            }
            255 => (tag, take(4, &rest[1..])?, 5),
            _ => return Err("partial-length packets are not supported here".into()),
        }
    } else {
        let tag = (first >> 2) & 0x0F;
        match first & 3 {
            0 => (tag, take(1, rest)?, 1),
            1 => (tag, take(2, rest)?, 2),
            2 => (tag, take(4, rest)?, 4),
            _ => (tag, rest.len(), 0),
        }
    };
    let rest = &rest[header..];
    let body = rest.get(..len).ok_or("packet runs past the end")?;
    Ok((tag, body, &rest[len..]))
}

/// Splits off one multiprecision integer (without leading zero bytes).
fn mpi(data: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let bits = data.get(..2).ok_or("truncated MPI")?;
    let bits = usize::from(u16::from_be_bytes([bits[0], bits[1]]));
    let n = bits.div_ceil(8);
    let v = data.get(2..2 + n).ok_or("truncated MPI")?;
    Ok((v, &data[2 + n..]))
}

/// A version-4 public key packet body: its fingerprint and verifier;
/// `Ok(None)` for an algorithm that cannot sign here (encryption keys).
fn public_key(body: &[u8]) -> Result<Option<Key>, String> {
    if body.first() != Some(&4) {
        return Err(format!(
            "public key packet version {}: only version 4 is supported",
            body.first().copied().unwrap_or(0)
        ));
    }
    let algo = *body.get(5).ok_or("truncated public key")?;
    let material = &body[6..];
    let verifier = match algo {
        ALGO_RSA | ALGO_RSA_SIGN => {
            let (n, rest) = mpi(material)?;
            let (e, _) = mpi(rest)?;
            let key = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(n),
                rsa::BigUint::from_bytes_be(e),
            )
            .map_err(|e| format!("bad RSA key: {e}"))?;
            Verifier::Rsa(key)
        }
        ALGO_EDDSA => {
            let (&oid_len, rest) = material.split_first().ok_or("truncated EdDSA key")?;
            let oid = rest
                .get(..usize::from(oid_len))
                .ok_or("truncated EdDSA key")?;
            if oid != ED25519_OID {
                return Err("EdDSA key on a curve other than Ed25519".into());
            }
            let (point, _) = mpi(&rest[usize::from(oid_len)..])?;
            let raw = point
                .strip_prefix(&[0x40])
                .and_then(|p| <[u8; 32]>::try_from(p).ok())
                .ok_or("EdDSA key is not a 32-byte native point")?;
            Verifier::Ed25519(
                ed25519_dalek::VerifyingKey::from_bytes(&raw)
                    .map_err(|e| format!("bad Ed25519 key: {e}"))?,
            )
        }
        _ => return Ok(None),
    };
    let mut h = sha1_smol::Sha1::new();
    h.update(&key_prefix(body));
    h.update(body);
    Ok(Some(Key {
        fingerprint: h.digest().bytes(),
        verifier,
    }))
}

/// `0x99 || length` before a key packet body in fingerprints and binding
/// signatures.
fn key_prefix(body: &[u8]) -> [u8; 3] {
    let len = u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes();
    [0x99, len[0], len[1]]
}

/// Certificates from a transferable public key sequence (a key block).
fn certs_from_packets(mut data: &[u8]) -> Result<Vec<Cert>, String> {
    let mut certs: Vec<Cert> = Vec::new();
    // The current primary key's body, and the last subkey's body and key.
    let mut primary_body: Vec<u8> = Vec::new();
    let mut subkey: Option<(Vec<u8>, Option<Key>)> = None;
    while !data.is_empty() {
        let (tag, body, rest) = packet(data)?;
        data = rest;
        match tag {
            TAG_PUBLIC_KEY => {
                let key = public_key(body)?.ok_or(
                    "the primary key's algorithm cannot sign (RSA and Ed25519 are supported)",
                )?;
                primary_body = body.to_vec();
                subkey = None;
                certs.push(Cert {
                    primary: key,
                    user_id: String::new(),
                    signing_subkeys: Vec::new(),
                    revoked: false,
                });
            }
            TAG_USER_ID => {
                if let Some(c) = certs.last_mut()
                    && c.user_id.is_empty()
                {
                    c.user_id = String::from_utf8_lossy(body).into_owned();
                }
            }
            TAG_PUBLIC_SUBKEY => {
                // A subkey of another version or algorithm is skipped.
                subkey = Some((body.to_vec(), public_key(body).ok().flatten()));
            }
            TAG_SIGNATURE => {
                let Some(cert) = certs.last_mut() else {
                    return Err("a signature before any public key".into());
                };
                let Ok(sig) = Signature::parse(body) else {
                    continue;
                };
                match sig.sig_type {
                    SIG_KEY_REVOCATION if subkey.is_none() => {
                        let prefix = key_prefix(&primary_body);
                        if sig.check(&cert.primary, &[&prefix, &primary_body]).is_ok() {
                            cert.revoked = true;
                        }
                    }
                    SIG_SUBKEY_BINDING => {
                        if let Some((sub_body, Some(key))) = &subkey {
                            let (pp, sp) = (key_prefix(&primary_body), key_prefix(sub_body));
                            let bound = sig
                                .check(&cert.primary, &[&pp, &primary_body, &sp, sub_body])
                                .is_ok();
                            if bound && sig.may_sign() && !cert.signing_subkeys.contains(key) {
                                cert.signing_subkeys.push(key.clone());
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(certs)
}

/// A parsed version-4 signature packet.
struct Signature {
    sig_type: u8,
    pub_algo: u8,
    hash_algo: u8,
    /// Version through the hashed subpackets: what the digest covers.
    hashed: Vec<u8>,
    left16: [u8; 2],
    /// The signature's MPIs, in order.
    mpis: Vec<Vec<u8>>,
    issuer_fingerprint: Option<[u8; 20]>,
    issuer_key_id: Option<[u8; 8]>,
    key_flags: Option<u8>,
}

impl Signature {
    fn parse(body: &[u8]) -> Result<Self, String> {
        let version = *body.first().ok_or("empty signature")?;
        if version != 4 {
            return Err(format!(
                "signature version {version}: only version 4 is supported"
            ));
        }
        let head = body.get(..6).ok_or("truncated signature")?;
        let hashed_len = usize::from(u16::from_be_bytes([head[4], head[5]]));
        let hashed = body
            .get(..6 + hashed_len)
            .ok_or("truncated hashed subpackets")?;
        let rest = &body[6 + hashed_len..];
        let len = rest.get(..2).ok_or("truncated signature")?;
        let unhashed_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let unhashed = rest
            .get(2..2 + unhashed_len)
            .ok_or("truncated unhashed subpackets")?;
        let rest = &rest[2 + unhashed_len..];
        let left16 = rest.get(..2).ok_or("truncated signature")?;
        let mut rest = &rest[2..];
        let mut mpis = Vec::new();
        while !rest.is_empty() {
            let (v, r) = mpi(rest)?;
            mpis.push(v.to_vec());
            rest = r;
        }
        let mut sig = Signature {
            sig_type: head[1],
            pub_algo: head[2],
            hash_algo: head[3],
            hashed: hashed.to_vec(),
            left16: [left16[0], left16[1]],
            mpis,
            issuer_fingerprint: None,
            issuer_key_id: None,
            key_flags: None,
        };
        // Issuer subpackets count from either area (GnuPG puts the
        // fingerprint in the hashed one); key flags only when hashed.
        sig.subpackets(&hashed[6..], true)?;
        sig.subpackets(unhashed, false)?;
        Ok(sig)
    }

    fn subpackets(&mut self, mut data: &[u8], hashed: bool) -> Result<(), String> {
        while let Some(&o1) = data.first() {
            let (len, header) = match o1 {
                0..=191 => (usize::from(o1), 1),
                192..=254 => {
                    let &o2 = data.get(1).ok_or("truncated subpacket")?;
                    (((usize::from(o1) - 192) << 8) + usize::from(o2) + 192, 2)
                }
                255 => {
                    let b = data.get(1..5).ok_or("truncated subpacket")?;
                    (
                        usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                            .map_err(|_| "subpacket too long")?,
                        5,
                    )
                }
            };
            let sub = data
                .get(header..header + len)
                .ok_or("subpacket runs past the end")?;
            data = &data[header + len..];
            let Some((&kind, value)) = sub.split_first() else {
                continue;
            };
            match kind & 0x7F {
                16 => self.issuer_key_id = <[u8; 8]>::try_from(value).ok(),
                33 if value.first() == Some(&4) => {
                    self.issuer_fingerprint = <[u8; 20]>::try_from(&value[1..]).ok();
                }
                27 if hashed => self.key_flags = value.first().copied(),
                _ => {}
            }
        }
        Ok(())
    }

    fn issuer_key_id(&self) -> Option<[u8; 8]> {
        self.issuer_key_id.or_else(|| {
            self.issuer_fingerprint
                .and_then(|f| <[u8; 8]>::try_from(&f[12..]).ok())
        })
    }

    /// A binding signature that lets the subkey sign (key flag 0x02); one
    /// without flags counts as allowing it, as older keys omit them.
    fn may_sign(&self) -> bool {
        self.key_flags.is_none_or(|f| f & 0x02 != 0)
    }

    /// Checks this signature over `parts` (concatenated) with `key`.
    fn check(&self, key: &Key, parts: &[&[u8]]) -> Result<(), String> {
        let trailer = {
            let len = u32::try_from(self.hashed.len()).unwrap_or(u32::MAX);
            let mut t = vec![0x04, 0xFF];
            t.extend_from_slice(&len.to_be_bytes());
            t
        };
        fn digest<D: Digest>(parts: &[&[u8]], hashed: &[u8], trailer: &[u8]) -> Vec<u8> {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            h.update(hashed);
            h.update(trailer);
            h.finalize().to_vec()
        }
        let d = match self.hash_algo {
            8 => digest::<Sha256>(parts, &self.hashed, &trailer),
            9 => digest::<Sha384>(parts, &self.hashed, &trailer),
            10 => digest::<Sha512>(parts, &self.hashed, &trailer),
            11 => digest::<Sha224>(parts, &self.hashed, &trailer),
            2 => return Err("SHA-1 digests are not accepted".into()),
            other => return Err(format!("digest algorithm {other} is not supported")),
        };
        if d.get(..2) != Some(&self.left16[..]) {
            return Err("the signature does not match the signed data".into());
        }
        match (&key.verifier, self.pub_algo) {
            (Verifier::Rsa(k), ALGO_RSA | ALGO_RSA_SIGN) => {
                use rsa::traits::PublicKeyParts;
                let s = self.mpis.first().ok_or("RSA signature without its value")?;
                let size = k.size();
                if s.len() > size {
                    return Err("RSA signature longer than the key".into());
                }
                let mut padded = vec![0u8; size - s.len()];
                padded.extend_from_slice(s);
                let scheme = match self.hash_algo {
                    8 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                    9 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                    10 => rsa::Pkcs1v15Sign::new::<Sha512>(),
                    _ => rsa::Pkcs1v15Sign::new::<Sha224>(),
                };
                k.verify(scheme, &d, &padded)
                    .map_err(|_| "the RSA signature does not verify".to_owned())
            }
            (Verifier::Ed25519(k), ALGO_EDDSA) => {
                let [r, s] = self.mpis.as_slice() else {
                    return Err("EdDSA signature without r and s".into());
                };
                let mut raw = [0u8; 64];
                let (r_slot, s_slot) = raw.split_at_mut(32);
                for (slot, v) in [(r_slot, r), (s_slot, s)] {
                    if v.len() > 32 {
                        return Err("EdDSA signature value too long".into());
                    }
                    slot[32 - v.len()..].copy_from_slice(v);
                }
                k.verify_strict(&d, &ed25519_dalek::Signature::from_bytes(&raw))
                    .map_err(|_| "the Ed25519 signature does not verify".to_owned())
            }
            (_, algo) => Err(format!(
                "signature algorithm {algo} does not match the key's"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn crc24_matches_the_standard_check_value() {
        // CRC-24/OPENPGP of "123456789".
        assert_eq!(crc24(b"123456789"), 0x21CF02);
    }

    #[test]
    fn packet_lengths_in_both_formats() {
        // New format, one-octet length.
        let (tag, body, rest) = packet(&[0xC2, 0x02, 1, 2, 9]).unwrap();
        assert_eq!((tag, body, rest), (2, &[1u8, 2][..], &[9u8][..]));
        // New format, two-octet length (192 bytes).
        let mut p = vec![0xC2, 192, 0];
        p.extend(std::iter::repeat_n(7u8, 192));
        let (_, body, rest) = packet(&p).unwrap();
        assert_eq!((body.len(), rest.len()), (192, 0));
        // Old format, tag 6, two-octet length.
        let (tag, body, _) = packet(&[0x99, 0x00, 0x01, 5]).unwrap();
        assert_eq!((tag, body), (6, &[5u8][..]));
        assert!(packet(&[0xC2, 0x05, 1]).is_err());
        assert!(packet(&[0x42]).is_err());
    }
}
