//! Sprig's encodings and checksums (`strings.go`, `crypto.go`).

use base64::Engine as _;
use sha2::Digest as _;

use super::{Map, add, s};
use crate::funcs::Ty;

pub(super) fn register(m: &mut Map) {
    use Ty::String as Str;
    add(m, "b64enc", &[Str], None, |a| {
        Ok(base64::engine::general_purpose::STANDARD
            .encode(s(&a[0]))
            .into())
    });
    add(m, "b64dec", &[Str], None, |a| Ok(b64dec(s(&a[0])).into()));
    add(m, "b32enc", &[Str], None, |a| {
        Ok(b32enc(s(&a[0]).as_bytes()).into())
    });
    add(m, "b32dec", &[Str], None, |a| Ok(b32dec(s(&a[0])).into()));
    add(m, "sha1sum", &[Str], None, |a| {
        Ok(sha1_smol::Sha1::from(s(&a[0])).digest().to_string().into())
    });
    add(m, "sha256sum", &[Str], None, |a| {
        Ok(hex(&sha2::Sha256::digest(s(&a[0]))).into())
    });
    add(m, "sha512sum", &[Str], None, |a| {
        Ok(hex(&sha2::Sha512::digest(s(&a[0]))).into())
    });
    add(m, "adler32sum", &[Str], None, |a| {
        Ok(adler32(s(&a[0]).as_bytes()).to_string().into())
    });
}

fn hex(b: &[u8]) -> std::string::String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Go's `base64.StdEncoding.DecodeString`, returning the error text on failure
/// as Sprig does.
fn b64dec(v: &str) -> std::string::String {
    let cleaned: std::string::String = v.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    match base64::engine::general_purpose::STANDARD.decode(cleaned.as_bytes()) {
        Ok(b) => std::string::String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            let at = match e {
                base64::DecodeError::InvalidByte(o, _)
                | base64::DecodeError::InvalidLastSymbol(o, _) => o,
                base64::DecodeError::InvalidLength(l) => l / 4 * 4,
                base64::DecodeError::InvalidPadding => cleaned.len().saturating_sub(1),
            };
            format!("illegal base64 data at input byte {at}")
        }
    }
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32enc(data: &[u8]) -> std::string::String {
    let mut out = std::string::String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((bits >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32dec(v: &str) -> std::string::String {
    let cleaned: Vec<u8> = v.bytes().filter(|c| *c != b'\n' && *c != b'\r').collect();
    if !cleaned.len().is_multiple_of(8) {
        return format!(
            "illegal base32 data at input byte {}",
            cleaned.len() / 8 * 8
        );
    }
    let mut out = Vec::new();
    for (ci, chunk) in cleaned.chunks(8).enumerate() {
        let mut bits: u64 = 0;
        let mut n = 0;
        for (i, &c) in chunk.iter().enumerate() {
            if c == b'=' {
                if chunk[i..].iter().any(|x| *x != b'=') {
                    return format!("illegal base32 data at input byte {}", ci * 8 + i);
                }
                break;
            }
            let Some(d) = B32.iter().position(|x| *x == c) else {
                return format!("illegal base32 data at input byte {}", ci * 8 + i);
            };
            bits |= (d as u64) << (35 - i * 5);
            n += 1;
        }
        let bytes = bits.to_be_bytes();
        let take = match n {
            2 => 1,
            4 => 2,
            5 => 3,
            7 => 4,
            8 => 5,
            _ => return format!("illegal base32 data at input byte {}", ci * 8 + n),
        };
        out.extend_from_slice(&bytes[3..3 + take]);
    }
    std::string::String::from_utf8_lossy(&out).into_owned()
}
