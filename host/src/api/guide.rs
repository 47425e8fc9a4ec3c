//! A plugin's connect guide as the API serves it (`GET /plugins`): tagged JSON the pages draw
//! with `textContent` only. Links are `https:` (the runtime made any other one plain text).

use serde::Serialize;

use crate::runtime::types::{Block, Guide, Inline};

#[derive(utoipa::ToSchema, Serialize)]
pub struct GuideView {
    sections: Vec<SectionView>,
}

#[derive(utoipa::ToSchema, Serialize)]
struct SectionView {
    title: String,
    blocks: Vec<BlockView>,
}

/// `paragraph` and `note` hold one line; `steps` a line per step.
#[derive(utoipa::ToSchema, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockView {
    Paragraph { line: Vec<InlineView> },
    Steps { steps: Vec<Vec<InlineView>> },
    Note { line: Vec<InlineView> },
}

#[derive(utoipa::ToSchema, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum InlineView {
    Text { text: String },
    Strong { text: String },
    Code { text: String },
    Link { text: String, url: String },
}

fn line(inlines: &[Inline]) -> Vec<InlineView> {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(text) => InlineView::Text { text: text.clone() },
            Inline::Strong(text) => InlineView::Strong { text: text.clone() },
            Inline::Code(text) => InlineView::Code { text: text.clone() },
            Inline::Link(link) => InlineView::Link { text: link.label.clone(), url: link.url.clone() },
        })
        .collect()
}

pub fn guide_view(guide: &Guide) -> GuideView {
    GuideView {
        sections: guide
            .sections
            .iter()
            .map(|section| SectionView {
                title: section.title.clone(),
                blocks: section
                    .blocks
                    .iter()
                    .map(|block| match block {
                        Block::Paragraph(inlines) => BlockView::Paragraph { line: line(inlines) },
                        Block::Steps(steps) => BlockView::Steps { steps: steps.iter().map(|step| line(step)).collect() },
                        Block::Note(inlines) => BlockView::Note { line: line(inlines) },
                    })
                    .collect(),
            })
            .collect(),
    }
}
