//! The reader's language for what the host shows of a plugin's texts (labels, help, guides,
//! setup items, its errors): the first of `Accept-Language` the pages have (the pages send the
//! language the person chose), English otherwise. Parsed by the `accept-language` crate.

/// The languages the pages are written in; the first is the default.
pub const PAGE_LANGUAGES: &[&str] = &["en", "id"];

/// The page language for an `Accept-Language` value (`id-ID,id;q=0.9,en;q=0.8` → `id`).
pub fn from_accept_language(header: Option<&str>) -> &'static str {
    let Some(header) = header else { return PAGE_LANGUAGES[0] };
    accept_language::parse(header)
        .iter()
        .find_map(|tag| {
            let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
            PAGE_LANGUAGES.iter().find(|l| **l == primary).copied()
        })
        .unwrap_or(PAGE_LANGUAGES[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_language_the_pages_have_wins_by_its_primary_subtag() {
        assert_eq!(from_accept_language(Some("id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7")), "id");
        assert_eq!(from_accept_language(Some("fr-FR, en;q=0.5, id;q=0.4")), "en");
        assert_eq!(from_accept_language(Some("en;q=0.3, id;q=0.9")), "id", "by quality, not order");
        assert_eq!(from_accept_language(Some("de, fr")), "en");
        assert_eq!(from_accept_language(Some("")), "en");
        assert_eq!(from_accept_language(None), "en");
    }
}
