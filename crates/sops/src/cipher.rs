//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value format.

use aes_gcm::aead::consts::{U12, U32};
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use crate::value::Value;

/// The size of the IVs sops generates.
const IV_LEN: usize = 32;

/// The 32-byte key all values of a file are encrypted with.
#[derive(Clone)]
pub struct DataKey(pub(crate) Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh random data key.
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(k.as_mut());
        DataKey(k)
    }

    /// A data key from its 32 bytes (as age unwraps it).
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey(Zeroizing::new(arr)))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// Why a value could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// Not of the `ENC[AES256_GCM,…]` form.
    NotEncrypted,
    /// A field is not valid base64, or the IV or tag has an unusable length.
    Malformed(&'static str),
    /// AES-GCM authentication failed (wrong key, tampered value or moved value).
    Authentication,
    /// The `type:` is unknown, or the plaintext does not parse as that type.
    BadType(String),
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueError::NotEncrypted => f.write_str("not an ENC[AES256_GCM,...] value"),
            ValueError::Malformed(what) => write!(f, "malformed encrypted value: {what}"),
            ValueError::Authentication => f.write_str(
                "AES-GCM authentication failed (wrong data key, or the value was changed or moved)",
            ),
            ValueError::BadType(t) => write!(f, "bad value type: {t}"),
        }
    }
}

/// The parts of an encrypted value.
struct Parsed<'a> {
    data: &'a str,
    iv: &'a str,
    tag: &'a str,
    ty: &'a str,
}

/// Splits `ENC[AES256_GCM,data:D,iv:I,tag:T,type:Y]` (anything may follow the `]`, as in sops).
fn parse(s: &str) -> Option<Parsed<'_>> {
    let rest = s.strip_prefix("ENC[AES256_GCM,data:")?;
    let end = rest.rfind(']')?;
    let rest = &rest[..end];
    let ti = rest.rfind(",type:")?;
    let ty = &rest[ti + 6..];
    let rest = &rest[..ti];
    let gi = rest.rfind(",tag:")?;
    let tag = &rest[gi + 5..];
    let rest = &rest[..gi];
    let ii = rest.rfind(",iv:")?;
    let iv = &rest[ii + 4..];
    let data = &rest[..ii];
    if data.is_empty() || iv.is_empty() || tag.is_empty() || ty.is_empty() {
        return None;
    }
    Some(Parsed { data, iv, tag, ty })
}

/// The IV of an encrypted value, for reuse when the same plaintext is written again.
pub fn iv_of(s: &str) -> Option<Vec<u8>> {
    B64.decode(parse(s)?.iv).ok()
}

fn open(
    key: &DataKey,
    iv: &[u8],
    buf: &mut [u8],
    tag: &[u8],
    aad: &[u8],
) -> Result<(), ValueError> {
    if tag.len() != 16 {
        return Err(ValueError::Malformed("tag is not 16 bytes"));
    }
    let tag = Tag::clone_from_slice(tag);
    let k = GenericArray::from_slice(key.0.as_ref());
    let r = match iv.len() {
        32 => AesGcm::<Aes256, U32>::new(k).decrypt_in_place_detached(
            GenericArray::from_slice(iv),
            aad,
            buf,
            &tag,
        ),
        12 => AesGcm::<Aes256, U12>::new(k).decrypt_in_place_detached(
            GenericArray::from_slice(iv),
            aad,
            buf,
            &tag,
        ),
        _ => return Err(ValueError::Malformed("IV is neither 32 nor 12 bytes")),
    };
    r.map_err(|_| ValueError::Authentication)
}

/// Decrypts raw bytes of a value, returning them with the `type:` name.
pub fn decrypt_raw(
    s: &str,
    key: &DataKey,
    aad: &str,
) -> Result<(Zeroizing<Vec<u8>>, String), ValueError> {
    let p = parse(s).ok_or(ValueError::NotEncrypted)?;
    let mut buf = Zeroizing::new(
        B64.decode(p.data)
            .map_err(|_| ValueError::Malformed("data is not base64"))?,
    );
    let iv = B64
        .decode(p.iv)
        .map_err(|_| ValueError::Malformed("iv is not base64"))?;
    let tag = B64
        .decode(p.tag)
        .map_err(|_| ValueError::Malformed("tag is not base64"))?;
    open(key, &iv, &mut buf, &tag, aad.as_bytes())?;
    Ok((buf, p.ty.to_string()))
}

/// Decrypts a value into the typed tree value it stands for (`""` stays `""`).
pub fn decrypt_value(s: &str, key: &DataKey, aad: &str) -> Result<Value, ValueError> {
    if s.is_empty() {
        return Ok(Value::Str(String::new()));
    }
    let (bytes, ty) = decrypt_raw(s, key, aad)?;
    let text = || {
        std::str::from_utf8(&bytes)
            .map(str::to_string)
            .map_err(|_| ValueError::BadType(format!("{ty} value is not UTF-8")))
    };
    Ok(match ty.as_str() {
        "str" => match std::str::from_utf8(&bytes) {
            Ok(t) => Value::Str(t.to_string()),
            Err(_) => Value::Bytes(bytes.to_vec()),
        },
        "bytes" => Value::Bytes(bytes.to_vec()),
        "int" => {
            let t = text()?;
            Value::Int(
                crate::gofmt::parse_go_int(&t).ok_or_else(|| ValueError::BadType("int".into()))?,
            )
        }
        "float" => {
            let t = text()?;
            Value::Float(
                crate::gofmt::parse_go_float(&t)
                    .ok_or_else(|| ValueError::BadType("float".into()))?,
            )
        }
        "bool" => {
            let t = text()?;
            Value::Bool(
                crate::gofmt::parse_go_bool(&t)
                    .ok_or_else(|| ValueError::BadType("bool".into()))?,
            )
        }
        "time" => Value::Time(text()?),
        "comment" => Value::Comment(text()?),
        other => return Err(ValueError::BadType(format!("unknown type `{other}`"))),
    })
}

/// The bytes sops encrypts (and hashes into the MAC) for a scalar, with its type name.
pub fn plain_bytes(v: &Value) -> Option<(Zeroizing<Vec<u8>>, &'static str)> {
    Some(match v {
        Value::Str(s) => (Zeroizing::new(s.as_bytes().to_vec()), "str"),
        Value::Bytes(b) => (Zeroizing::new(b.clone()), "str"),
        Value::Int(i) => (Zeroizing::new(i.to_string().into_bytes()), "int"),
        Value::Float(f) => (
            Zeroizing::new(crate::gofmt::format_float_f(*f).into_bytes()),
            "float",
        ),
        Value::Bool(b) => (
            Zeroizing::new(if *b {
                b"True".to_vec()
            } else {
                b"False".to_vec()
            }),
            "bool",
        ),
        Value::Time(t) => (Zeroizing::new(t.as_bytes().to_vec()), "time"),
        Value::Comment(c) => (Zeroizing::new(c.as_bytes().to_vec()), "comment"),
        Value::Null | Value::Map(_) | Value::Seq(_) => return None,
    })
}

/// Encrypts raw bytes with the given type name; `iv` reuses an IV (else a random one).
pub fn encrypt_raw(plain: &[u8], ty: &str, key: &DataKey, aad: &str, iv: Option<&[u8]>) -> String {
    let mut ivb = [0u8; IV_LEN];
    match iv {
        Some(v) if v.len() == IV_LEN => ivb.copy_from_slice(v),
        _ => OsRng.fill_bytes(&mut ivb),
    }
    let mut buf = plain.to_vec();
    let k = GenericArray::from_slice(key.0.as_ref());
    let tag = AesGcm::<Aes256, U32>::new(k)
        .encrypt_in_place_detached(GenericArray::from_slice(&ivb), aad.as_bytes(), &mut buf)
        // AES-GCM fails only past 64 GiB of plaintext, which no value reaches.
        .unwrap_or_default();
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        B64.encode(&buf),
        B64.encode(ivb),
        B64.encode(tag),
        ty
    )
}

/// Encrypts a scalar as sops does (`""` stays `""`); `None` for null and collections.
pub fn encrypt_value(v: &Value, key: &DataKey, aad: &str, iv: Option<&[u8]>) -> Option<String> {
    let (bytes, ty) = plain_bytes(v)?;
    if bytes.is_empty() && matches!(v, Value::Str(_) | Value::Bytes(_) | Value::Comment(_)) {
        return Some(String::new());
    }
    Some(encrypt_raw(&bytes, ty, key, aad, iv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_aad() {
        let k = DataKey::generate();
        let e = encrypt_value(&Value::Int(42), &k, "a:b:", None).unwrap();
        assert!(e.ends_with(",type:int]"));
        assert_eq!(decrypt_value(&e, &k, "a:b:").unwrap(), Value::Int(42));
        assert_eq!(
            decrypt_value(&e, &k, "a:c:"),
            Err(ValueError::Authentication)
        );
        assert_eq!(
            encrypt_value(&Value::Str(String::new()), &k, "x:", None).unwrap(),
            ""
        );
    }
}
