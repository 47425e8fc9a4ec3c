//! Passwords of people who sign in: argon2id with the `argon2` crate's defaults, which are
//! OWASP's recommendation (19 MiB, 2 passes, 1 lane), stored as PHC strings. Hashing takes
//! tens of milliseconds on purpose: callers run it off the async threads.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The shortest password taken (NIST SP 800-63B asks for at least 8; we ask a little more).
pub const MIN_LENGTH: usize = 10;
/// The longest, so hashing cannot be made arbitrarily slow.
pub const MAX_LENGTH: usize = 256;

/// A hash of a password, to store.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 with its default parameters hashes any input").to_string()
}

/// Whether `password` matches a stored hash (`None`: no password set; the work is done anyway,
/// so the answer's timing does not tell whether the account exists).
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let fallback;
    let stored = match stored {
        Some(stored) => stored,
        None => {
            fallback = dummy_hash();
            fallback.as_str()
        }
    };
    let matches = PasswordHash::new(stored).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
    matches && stored != dummy_hash()
}

fn dummy_hash() -> &'static String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("no account has this password"))
}

/// What is wrong with a new password, for a person.
pub fn problem(password: &str, username: &str) -> Option<String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Some(format!("must be at least {MIN_LENGTH} characters"));
    }
    if length > MAX_LENGTH {
        return Some(format!("must be at most {MAX_LENGTH} characters"));
    }
    if password.eq_ignore_ascii_case(username) {
        return Some("must not be the username".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_never_holds_it() {
        let stored = hash("kopi-susu-gula-aren");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(!stored.contains("kopi"));
        assert!(verify("kopi-susu-gula-aren", Some(&stored)));
        assert!(!verify("kopi-susu-gula-arem", Some(&stored)));
        assert!(!verify("no account has this password", None), "no password set: nothing matches");
        assert!(!verify("x", Some("not a hash")));
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(problem("short", "a@b.c").unwrap().contains("at least 10"));
        assert!(problem("siti@toko.id", "Siti@toko.id").unwrap().contains("username"));
        assert_eq!(problem("kopi-susu-gula-aren", "siti@toko.id"), None);
    }
}
