//! The guide shown beside a channel's connect form (contract 0.1.3): the steps an admin
//! follows at the provider, as structured text the host draws itself. Write steps with a
//! little inline markup, parsed here into the contract's structure (the host never receives
//! markup or HTML): `` `code` `` for what to type or paste, `**strong**` for a button or menu
//! to look for, `[label](https://…)` for a link.
//!
//! ```
//! use switchboard_sdk::guide::{Guide, Widget};
//!
//! let guide = Guide::new()
//!     .section("Create the bot")
//!     .steps([
//!         "Open [@BotFather](https://t.me/BotFather) in Telegram.",
//!         "Send `/newbot` and answer its two questions.",
//!         "Paste the token it gives in **Bot token**.",
//!     ])
//!     .note("One bot serves one channel.")
//!     .widget("color", Widget::Color);
//! assert_eq!(guide.sections.len(), 1);
//! ```

pub use crate::bindings::switchboard::channel::guide_types::{
    Block, FieldWidget, Guide, Inline, Link, Section, Widget,
};

impl Guide {
    /// An empty guide: no sections, no widgets (what a plugin without a guide shows).
    pub fn new() -> Self {
        Self { sections: Vec::new(), field_widgets: Vec::new() }
    }

    /// Starts a section; the blocks added next belong to it.
    pub fn section(mut self, title: &str) -> Self {
        self.sections.push(Section { title: title.into(), blocks: Vec::new() });
        self
    }

    /// Numbered steps, each a line of inline markup.
    pub fn steps<'a>(self, steps: impl IntoIterator<Item = &'a str>) -> Self {
        self.block(Block::Steps(steps.into_iter().map(parse).collect()))
    }

    /// A paragraph of inline markup in the current section.
    pub fn paragraph(self, text: &str) -> Self {
        self.block(Block::Paragraph(parse(text)))
    }

    /// A remark to notice: a policy, a limit, a prerequisite.
    pub fn note(self, text: &str) -> Self {
        self.block(Block::Note(parse(text)))
    }

    /// Draws setting `key` with a special control (a colour picker).
    pub fn widget(mut self, key: &str, widget: Widget) -> Self {
        self.field_widgets.push(FieldWidget { key: key.into(), widget });
        self
    }

    fn block(mut self, block: Block) -> Self {
        if self.sections.is_empty() {
            self = self.section("Steps");
        }
        if let Some(section) = self.sections.last_mut() {
            section.blocks.push(block);
        }
        self
    }
}

impl Default for Guide {
    fn default() -> Self {
        Self::new()
    }
}

/// Inline markup to the contract's inline text. A marker without its closing half is text.
pub fn parse(markup: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = markup;
    while let Some(c) = rest.chars().next() {
        let parsed = match c {
            '`' => rest[1..].find('`').map(|end| (Inline::Code(rest[1..1 + end].into()), 2 + end)),
            '*' if rest.starts_with("**") => rest[2..].find("**").map(|end| (Inline::Strong(rest[2..2 + end].into()), 4 + end)),
            '[' => link(rest),
            _ => None,
        };
        match parsed {
            Some((inline, used)) => {
                if !text.is_empty() {
                    out.push(Inline::Text(std::mem::take(&mut text)));
                }
                out.push(inline);
                rest = &rest[used..];
            }
            None => {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !text.is_empty() {
        out.push(Inline::Text(text));
    }
    out
}

/// `[label](url)` at the start of `rest`, and how many bytes it took.
fn link(rest: &str) -> Option<(Inline, usize)> {
    let label_end = rest.find("](")?;
    let url_end = rest[label_end + 2..].find(')')? + label_end + 2;
    let label = &rest[1..label_end];
    let url = &rest[label_end + 2..url_end];
    if label.contains('[') || url.contains(char::is_whitespace) {
        return None;
    }
    Some((Inline::Link(Link { label: label.into(), url: url.into() }), url_end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Inline {
        Inline::Text(s.into())
    }

    /// The generated types have no `PartialEq`; their debug forms compare as well.
    macro_rules! same {
        ($left:expr, $right:expr) => {
            assert_eq!(format!("{:?}", $left), format!("{:?}", $right))
        };
    }

    #[test]
    fn markup_becomes_structured_inline_text() {
        let parsed = parse("Open [@BotFather](https://t.me/BotFather), send `/newbot`, then **Save**.");
        same!(
            parsed,
            vec![
                text("Open "),
                Inline::Link(Link { label: "@BotFather".into(), url: "https://t.me/BotFather".into() }),
                text(", send "),
                Inline::Code("/newbot".into()),
                text(", then "),
                Inline::Strong("Save".into()),
                text("."),
            ]
        );
    }

    #[test]
    fn unclosed_markers_and_html_stay_plain_text() {
        same!(parse("a `b and **c"), vec![text("a `b and **c")]);
        same!(parse("<b>x</b> [no link] (here)"), vec![text("<b>x</b> [no link] (here)")]);
        same!(parse("héllo `ü`"), vec![text("héllo "), Inline::Code("ü".into())]);
    }

    #[test]
    fn blocks_without_a_section_get_one() {
        let guide = Guide::new().note("Only direct messages.").widget("color", Widget::Color);
        assert_eq!(guide.sections.len(), 1);
        assert_eq!(guide.sections[0].title, "Steps");
        assert!(matches!(guide.sections[0].blocks[0], Block::Note(_)));
        assert_eq!(guide.field_widgets.len(), 1);
    }
}
