//! What each page says about itself: the browser tab's `<title>`, the meta description search
//! engines show, and the Open Graph tags chat apps read for a shared link's preview.
//!
//! Pages render their data before the head is sent (`SsrMode::Async`), so a listing's title,
//! county and price are in the first HTML, also for link-preview bots that run no script.

use crate::i18n::{use_lang, Lang, T};
use leptos::prelude::*;
use leptos::text_prop::TextProp;
use leptos_meta::{Meta, Title};

/// A text in the page's language: a key of the UI's dictionary, or words from the data (a
/// listing's title) given once per language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Words {
    Key(T),
    Each { zh: String, en: String },
}

impl Words {
    /// The same text in both languages (names from the data).
    pub fn same(text: impl Into<String>) -> Words {
        let text = text.into();
        Words::Each {
            zh: text.clone(),
            en: text,
        }
    }

    pub fn each(zh: impl Into<String>, en: impl Into<String>) -> Words {
        Words::Each {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> String {
        match self {
            Words::Key(k) => k.t(lang).to_owned(),
            Words::Each { zh, en } => match lang {
                Lang::Zh => zh.clone(),
                Lang::En => en.clone(),
            },
        }
    }
}

impl From<T> for Words {
    fn from(k: T) -> Words {
        Words::Key(k)
    }
}

/// The tab title: the page's name, then the site's.
pub fn full_title(title: &Words, lang: Lang) -> String {
    let page = title.get(lang);
    let site = T::app_name.t(lang);
    if page.is_empty() || page == site {
        site.to_owned()
    } else {
        format!("{page} · {site}")
    }
}

/// A text as the page shows it now: on the server the request's language, fixed (the title is
/// read after rendering, where a signal may not be read); in the browser it follows the
/// language switch.
fn text_in(words: Words, lang: RwSignal<Lang>, f: fn(&Words, Lang) -> String) -> TextProp {
    #[cfg(feature = "hydrate")]
    {
        TextProp::from(move || f(&words, lang.get()))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        TextProp::from(f(&words, lang.get_untracked()))
    }
}

/// The tab title as the server writes it: leptos_meta puts a `<title>`'s text into the page
/// as it is, so words from the data (a seller's listing title) are escaped here; in the
/// browser the text goes to `document.title`, which takes it as text.
fn title_text(words: &Words, lang: Lang) -> String {
    let title = full_title(words, lang);
    #[cfg(not(feature = "hydrate"))]
    let title = crate::ui::escape_text(&title);
    title
}

/// The site's address as visitors reach it, for absolute links in the Open Graph tags: the
/// configured public origin, else the request's `Host` (when it is a plain host name; https
/// when the site sets secure cookies, i.e. is served over TLS) on the server; the page's own
/// origin in the browser.
#[cfg(feature = "ssr")]
pub fn site_origin() -> Option<String> {
    let state = use_context::<crate::server::state::AppState>()?;
    let parts = use_context::<http::request::Parts>();
    origin_of(&state.settings, parts.as_ref().map(|p| &p.headers))
}

/// [`site_origin`] for a request with these headers (none: the configured origin only).
#[cfg(feature = "ssr")]
pub fn origin_of(
    settings: &crate::server::config::Settings,
    headers: Option<&http::HeaderMap>,
) -> Option<String> {
    if let Some(o) = settings.public_origin.clone() {
        return Some(o);
    }
    let secure = settings.secure_cookies;
    let host = headers?.get(http::header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    let scheme = if secure { "https" } else { "http" };
    plain.then(|| format!("{scheme}://{host}"))
}

#[cfg(not(feature = "ssr"))]
pub fn site_origin() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().and_then(|w| w.location().origin().ok())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// A page's title, description and sharing tags. `image` is a path on this site (a listing's
/// photo); `private` pages (an account's, an official's) ask search engines not to index them.
#[component]
pub fn PageMeta(
    #[prop(into)] title: Words,
    #[prop(into)] description: Words,
    #[prop(default = None)] image: Option<String>,
    #[prop(optional)] private: bool,
) -> impl IntoView {
    if !crate::ui::page_alive() {
        return ().into_any();
    }
    let lang = use_lang();
    let origin = site_origin();
    let image = image.map(|path| format!("{}{path}", origin.clone().unwrap_or_default()));
    // Always there (relative when the origin is unknown), so the server's head and the
    // browser's have the same tags in the same order for hydration.
    let url = format!(
        "{}{}",
        origin.unwrap_or_default(),
        leptos_router::hooks::use_location()
            .pathname
            .get_untracked()
    );
    view! {
        <Title text=text_in(title.clone(), lang, title_text)/>
        <Meta name="description" content=text_in(description.clone(), lang, Words::get)/>
        {private.then(|| view! { <Meta name="robots" content="noindex"/> })}
        <Meta property="og:site_name" content=text_in(T::app_name.into(), lang, Words::get)/>
        <Meta property="og:type" content="website"/>
        <Meta property="og:title" content=text_in(title, lang, Words::get)/>
        <Meta property="og:description" content=text_in(description, lang, Words::get)/>
        <Meta property="og:url" content=url/>
        {image.map(|src| view! {
            <Meta property="og:image" content=src/>
            <Meta name="twitter:card" content="summary_large_image"/>
        })}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_title_names_the_page_then_the_site() {
        assert_eq!(
            full_title(&Words::same("政和白茶"), Lang::Zh),
            "政和白茶 · 助农集市"
        );
        assert_eq!(
            full_title(&T::market_title.into(), Lang::En),
            "Market · Zhunong Market"
        );
        // The home page is the site itself: its name once.
        assert_eq!(full_title(&T::app_name.into(), Lang::Zh), "助农集市");
        assert_eq!(full_title(&Words::same(""), Lang::Zh), "助农集市");
    }

    #[test]
    fn the_server_escapes_the_title_it_writes() {
        // leptos_meta writes a <title>'s text as it is: a seller's title must not end it.
        let t = title_text(
            &Words::same("</title><meta http-equiv=refresh content=0>"),
            Lang::Zh,
        );
        assert!(t.starts_with("&lt;/title&gt;&lt;meta"), "{t}");
        assert!(!t.contains('<') && !t.contains('>'));
    }

    #[test]
    fn words_follow_the_language() {
        let w = Words::each("政和县的农产品", "Produce of Zhenghe");
        assert_eq!(w.get(Lang::Zh), "政和县的农产品");
        assert_eq!(w.get(Lang::En), "Produce of Zhenghe");
    }
}
