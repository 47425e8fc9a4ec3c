//! A business's website for browser tests: one page, on its own origin (`127.0.0.1:<port>`),
//! with whatever HTML is embedded in it (the chat widget's snippet).

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::response::Html;

pub struct Site {
    /// `http://127.0.0.1:<port>/`
    pub url: String,
    /// `127.0.0.1:<port>`, as the widget's domain setting names it.
    pub authority: String,
    embedded: Arc<RwLock<String>>,
}

impl Site {
    pub async fn start() -> Self {
        let embedded = Arc::new(RwLock::new(String::new()));
        let app = Router::new().route("/", axum::routing::get(page)).with_state(embedded.clone());
        let (base, authority) = crate::serve_fake(app).await;
        Self { url: format!("{base}/"), authority, embedded }
    }

    /// Puts this HTML at the end of the page's body.
    pub fn embed(&self, html: &str) {
        *self.embedded.write().unwrap() = html.to_owned();
    }
}

async fn page(State(embedded): State<Arc<RwLock<String>>>) -> Html<String> {
    let embedded = embedded.read().unwrap().clone();
    Html(format!(
        "<!doctype html>\n<html lang=\"id\"><head><meta charset=\"utf-8\"><title>Toko Budi</title></head>\n\
         <body><h1>Toko Budi</h1><p>Batik tulis, dikirim ke seluruh Indonesia.</p>\n{embedded}\n</body></html>\n"
    ))
}
