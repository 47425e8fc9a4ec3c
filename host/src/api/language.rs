//! The reader's language for what the host shows of a plugin's texts (labels, help, guides,
//! setup items, its errors): the most preferred language of `Accept-Language` (RFC 9110 §12.5.4)
//! that the pages have (the pages send the language the person chose), English otherwise.
//!
//! Parsed here rather than with the `accept-language` crate: its sort orders by `f32` quality
//! with a comparison that is not total (`q=NaN` parses), and a header a client sends must never
//! panic an extractor every route runs.

use crate::runtime::PAGE_LANGUAGES;

/// More than this many ranges in one header are ignored (a browser sends a handful).
const MOST_RANGES: usize = 32;

/// The page language for an `Accept-Language` value (`id-ID,id;q=0.9,en;q=0.8` → `id`).
pub fn from_accept_language(header: Option<&str>) -> &'static str {
    let mut wanted: Vec<(f32, &'static str)> = header
        .unwrap_or_default()
        .split(',')
        .take(MOST_RANGES)
        .filter_map(|range| {
            let mut parts = range.split(';');
            let tag = parts.next()?.trim();
            let quality = parts
                .filter_map(|param| param.trim().strip_prefix("q=").or_else(|| param.trim().strip_prefix("Q=")))
                .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                .next()
                .unwrap_or(1.0);
            // q=0 is "not acceptable"; nonsense qualities count as that too.
            if !(quality.is_finite() && quality > 0.0) {
                return None;
            }
            let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
            PAGE_LANGUAGES.iter().find(|l| **l == primary).map(|l| (quality.min(1.0), *l))
        })
        .collect();
    // Stable: among equal qualities the header's order stands.
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
    wanted.first().map_or(PAGE_LANGUAGES[0], |(_, language)| language)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_preferred_language_the_pages_have_wins_by_its_primary_subtag() {
        assert_eq!(from_accept_language(Some("id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7")), "id");
        assert_eq!(from_accept_language(Some("fr-FR, en;q=0.5, id;q=0.4")), "en");
        assert_eq!(from_accept_language(Some("en;q=0.3, id;q=0.9")), "id", "by quality, not order");
        assert_eq!(from_accept_language(Some("de, fr")), "en");
        assert_eq!(from_accept_language(Some("")), "en");
        assert_eq!(from_accept_language(None), "en");
    }

    #[test]
    fn refused_and_nonsense_qualities_never_choose_and_never_panic() {
        assert_eq!(from_accept_language(Some("id;q=0, en;q=0.1")), "en", "q=0 is not acceptable");
        assert_eq!(from_accept_language(Some("id;q=NaN")), "en");
        assert_eq!(from_accept_language(Some("id;q=inf, en")), "en");
        let many = (0..500).map(|i| format!("x{i};q=NaN, id;q=0.{}", i % 10)).collect::<Vec<_>>().join(",");
        assert_eq!(from_accept_language(Some(&many)), "id");
        assert_eq!(from_accept_language(Some(";;;,,,=q;q=")), "en");
    }
}
