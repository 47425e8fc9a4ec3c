//! The shapes of ids that name files, checked where they arrive and again where a file is
//! opened: an id is never a path. A plugin id names `<id>.wasm` in the plugins folder and
//! `<id>.wasm`/`<id>.review.json` in the pending folder; a name that could climb out of its
//! folder (`..`, a separator, an absolute path, a NUL) or overflow a file name is refused.

use std::path::{Component, Path, PathBuf};

/// The longest plugin id: a crate name's limit, well under any file system's name limit.
pub const MAX_PLUGIN_ID_LEN: usize = 64;

/// What a plugin id may be, said to whoever gave a wrong one.
pub const PLUGIN_ID_SHAPE: &str = "lowercase letters, digits and `-`, starting with a letter, at most 64";

/// Whether `id` is a plugin id: lowercase ASCII letters, digits and `-`, starting with a
/// letter, not ending with `-`, at most [`MAX_PLUGIN_ID_LEN`] bytes.
pub fn is_plugin_id(id: &str) -> bool {
    id.len() <= MAX_PLUGIN_ID_LEN
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A file named `file_name` directly inside `folder`, or `None` when the name is not one plain
/// file name (a separator, `.`/`..`, an absolute path, a NUL, empty, or longer than 255 bytes):
/// the last check before a file operation, whatever the caller validated.
pub fn file_in(folder: &Path, file_name: &str) -> Option<PathBuf> {
    let plain = !file_name.is_empty()
        && file_name.len() <= 255
        && !file_name.contains(['/', '\\', '\0'])
        && matches!(Path::new(file_name).components().collect::<Vec<_>>().as_slice(), [Component::Normal(_)]);
    let path = folder.join(file_name);
    (plain && path.parent() == Some(folder)).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_ids_are_plain_names() {
        for good in ["telegram", "whatsapp-cloud", "echo2", &"a".repeat(64)] {
            assert!(is_plugin_id(good), "{good}");
        }
        for bad in ["", "..", "../x", "a/b", "a\\b", "a\0b", "/etc", "Telegram", "2fa", "-x", "x-", "a.b", "a b", &"a".repeat(65)] {
            assert!(!is_plugin_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_file_stays_inside_its_folder() {
        let folder = Path::new("/data/pending");
        assert_eq!(file_in(folder, "echo.wasm"), Some(folder.join("echo.wasm")));
        for bad in ["", ".", "..", "../echo.wasm", "a/b", "/etc/passwd", "a\0b", "..\\x", &"a".repeat(256)] {
            assert_eq!(file_in(folder, bad), None, "{bad:?}");
        }
    }
}
