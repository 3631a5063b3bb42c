//! The portal page's data block: `<script type="application/json" id="portaal-data">`, which
//! the page's script reads with `JSON.parse`. It holds the script's texts in the page's language
//! and the content types the portal knows, so neither has a second copy in the script. A data
//! block is not executed, so the CSP (`script-src 'self'`) allows it.

use std::fmt;

use serde::Serialize;

use super::Lang;
use super::format::{KNOWN_TYPES, KnownType};
use super::texts::ScriptTexts;

/// What the data block holds.
#[derive(Serialize)]
struct PageData {
    texts: ScriptTextsWithShared,
    types: &'static [KnownType],
}

/// The script's own texts and the two it shares with the page.
#[derive(Serialize)]
struct ScriptTextsWithShared {
    #[serde(flatten)]
    own: &'static ScriptTexts,
    ready: &'static str,
    remove: &'static str,
}

/// JSON that can stand between `<script type="application/json">` and `</script>`: `<`, `>`
/// and `&` are written as `\u003c`, `\u003e` and `\u0026` (they only occur inside JSON
/// strings, where these escapes mean the same), so no text can end the element or open a
/// comment. Written into the page unescaped: the element's content is not HTML.
#[derive(Clone, Debug)]
pub struct DataBlock(String);

impl DataBlock {
    /// The portal page's data in `lang`.
    pub fn portal(lang: Lang) -> DataBlock {
        let t = lang.texts();
        DataBlock::of(&PageData {
            texts: ScriptTextsWithShared {
                own: &t.script,
                ready: t.file_ready,
                remove: t.remove,
            },
            types: KNOWN_TYPES,
        })
    }

    /// Any value as a data block.
    pub fn of(value: &impl Serialize) -> DataBlock {
        let json = serde_json::to_string(value).expect("page data is plain strings and lists");
        let mut out = String::with_capacity(json.len());
        for c in json.chars() {
            match c {
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                _ => out.push(c),
            }
        }
        DataBlock(out)
    }
}

impl fmt::Display for DataBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
