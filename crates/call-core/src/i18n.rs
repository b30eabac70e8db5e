//! Translations. The texts live in `lang/<code>.txt` (one file per
//! language; English is the source and the fallback); build.rs turns them
//! into tables. The language comes from the `lang` query flag, else from
//! the browser's preferred languages, else English.

include!(concat!(env!("OUT_DIR"), "/lang.rs"));

/// A language of [`LANGS`] by index; 0 is English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lang(usize);

pub const EN: Lang = Lang(0);

impl Lang {
    /// The ISO 639-1 code (`de`), for `<html lang>`.
    pub fn code(self) -> &'static str {
        LANGS.get(self.0).map_or("en", |l| l.0)
    }

    /// Right-to-left script (`<html dir="rtl">`).
    pub fn rtl(self) -> bool {
        matches!(self.code(), "ar" | "fa" | "he" | "ur")
    }

    /// The text for `key`, falling back to English, then to "".
    pub fn text(self, key: &str) -> &'static str {
        let Some(i) = KEYS.lines().position(|k| k == key) else { return "" };
        let nth = |l: Lang| LANGS.get(l.0).and_then(|(_, t)| t.lines().nth(i)).filter(|t| !t.is_empty());
        nth(self).or_else(|| nth(EN)).unwrap_or("")
    }

    /// All shipped languages.
    pub fn all() -> impl Iterator<Item = Lang> {
        (0..LANGS.len()).map(Lang)
    }
}

/// Finds a language by tag: `de`, `de-AT`, `pt_BR`, `zh-Hans-CN` all match
/// on the primary subtag, case-insensitively.
pub fn find(tag: &str) -> Option<Lang> {
    let primary = tag.split(['-', '_']).next()?.trim();
    LANGS.iter().position(|(code, _)| code.eq_ignore_ascii_case(primary)).map(Lang)
}

/// The `lang` query value if it names a shipped language, else the first
/// shipped one among the browser's languages (`navigator.languages`,
/// most preferred first), else English.
pub fn pick<'a>(query: Option<&str>, browser: impl IntoIterator<Item = &'a str>) -> Lang {
    query.and_then(find).or_else(|| browser.into_iter().find_map(find)).unwrap_or(EN)
}

/// The value of `name` in a query string (`?lang=de&x` → `de`).
pub fn query_value<'a>(search: &'a str, name: &str) -> Option<&'a str> {
    let q = search.strip_prefix('?').unwrap_or(search);
    q.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const REQUIRED: [&str; 10] = ["en", "de", "es", "fr", "it", "pt", "ru", "uk", "zh", "ar"];

    #[test]
    fn every_required_language_is_complete() {
        let keys = KEYS.lines().count();
        for code in REQUIRED {
            let lang = find(code).unwrap_or_else(|| panic!("{code} missing"));
            let texts: Vec<&str> = LANGS[lang.0].1.lines().collect();
            assert_eq!(texts.len(), keys, "{code}: one text per key");
            for (k, t) in KEYS.lines().zip(&texts) {
                assert!(!t.is_empty(), "{code}: no text for {k}");
            }
        }
    }

    #[test]
    fn picking() {
        assert_eq!(pick(Some("de"), ["fr"]).code(), "de");
        assert_eq!(pick(Some("xx"), ["pt-BR", "fr"]).code(), "pt", "unknown query value: the browser decides");
        assert_eq!(pick(None, ["nl", "zh-Hans-CN"]).code(), "zh");
        assert_eq!(pick(None, ["nl"]).code(), "en");
        assert_eq!(pick(Some(""), []).code(), "en");
        assert!(find("AR").unwrap().rtl() && !find("de").unwrap().rtl());
        assert_eq!(query_value("?noOutgoingVideoInitially&lang=uk", "lang"), Some("uk"));
        assert_eq!(query_value("?lang", "lang"), None);
    }

    #[test]
    fn text_falls_back_to_english() {
        let de = find("de").unwrap();
        assert_eq!(de.text("answer"), "Annehmen");
        assert_eq!(EN.text("answer"), "Answer");
        assert_eq!(de.text("no such key"), "");
        assert_eq!(Lang(99).text("answer"), "Answer");
    }
}
