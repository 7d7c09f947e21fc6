//! Sprig's random functions, driven by a seeded SplitMix64 generator so a
//! render is reproducible (Sprig itself reads `crypto/rand`).

use std::sync::{Arc, Mutex};

use base64::Engine as _;

use super::{Map, add, n, s};
use crate::funcs::Ty;
use crate::value::Value;

/// A small deterministic generator shared by the random functions.
#[derive(Clone)]
struct Rng(Arc<Mutex<u64>>);

impl Rng {
    fn next(&self) -> u64 {
        let mut st = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *st = st.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *st;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn string_from(&self, count: i64, alphabet: &[u8]) -> std::string::String {
        (0..count.max(0))
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

pub(super) fn register(m: &mut Map, seed: u64) {
    use Ty::{Int, String as Str};
    let rng = Rng(Arc::new(Mutex::new(seed)));
    let r = rng.clone();
    add(m, "randAlphaNum", &[Int], None, move |a| {
        Ok(r.string_from(n(&a[0]), ALNUM).into())
    });
    let r = rng.clone();
    add(m, "randAlpha", &[Int], None, move |a| {
        Ok(r.string_from(n(&a[0]), &ALNUM[..52]).into())
    });
    let r = rng.clone();
    add(m, "randNumeric", &[Int], None, move |a| {
        Ok(r.string_from(n(&a[0]), &ALNUM[52..]).into())
    });
    let r = rng.clone();
    let ascii: Vec<u8> = (32u8..127).collect();
    add(m, "randAscii", &[Int], None, move |a| {
        Ok(r.string_from(n(&a[0]), &ascii).into())
    });
    let r = rng.clone();
    add(m, "randInt", &[Int, Int], None, move |a| {
        let (lo, hi) = (n(&a[0]), n(&a[1]));
        if hi - lo <= 0 {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(lo + r.below((hi - lo) as u64) as i64))
    });
    let r = rng.clone();
    add(m, "uuidv4", &[], None, move |_| {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&r.next().to_le_bytes());
        b[8..].copy_from_slice(&r.next().to_le_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: std::string::String = b.iter().map(|x| format!("{x:02x}")).collect();
        Ok(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
        .into())
    });
    let r = rng.clone();
    add(m, "shuffle", &[Str], None, move |a| {
        let mut c: Vec<char> = s(&a[0]).chars().collect();
        for i in (1..c.len()).rev() {
            let j = r.below(i as u64 + 1) as usize;
            c.swap(i, j);
        }
        Ok(c.into_iter().collect::<std::string::String>().into())
    });
    let r = rng;
    add(m, "randBytes", &[Int], None, move |a| {
        let b: Vec<u8> = (0..n(&a[0]).max(0)).map(|_| r.next() as u8).collect();
        Ok(base64::engine::general_purpose::STANDARD.encode(b).into())
    });
}
