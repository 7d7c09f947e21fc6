//! Sprig's certificate, key and password functions: not implemented (they
//! need key generation or slow KDFs); each fails with a clear message so a
//! chart using them fails loudly instead of rendering something wrong.
//! `getHostByName` returns "" as Helm's does without `--enable-dns`.

use super::{Map, add};
use crate::funcs::Ty;

pub(super) fn register(m: &mut Map) {
    for name in [
        "bcrypt",
        "htpasswd",
        "genPrivateKey",
        "derivePassword",
        "buildCustomCert",
        "genCA",
        "genCAWithKey",
        "genSelfSignedCert",
        "genSelfSignedCertWithKey",
        "genSignedCert",
        "genSignedCertWithKey",
        "encryptAES",
        "decryptAES",
    ] {
        let msg = format!("{name} is not supported by kiln-gotmpl");
        m.insert(
            name.to_string(),
            crate::funcs::Function::pure(&[], Some(Ty::Any), move |_| Err(msg.as_str().into())),
        );
    }
    add(m, "getHostByName", &[Ty::String], None, |_| Ok("".into()));
}
