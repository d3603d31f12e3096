//! Shared view pieces: money, status badges, error and not-found states.

use crate::domain::income::MonitoringStatus;
use crate::domain::money::Fen;
use crate::error::AppError;
use crate::i18n::{tr, use_lang, T};
use leptos::prelude::*;
use leptos_router::components::A;
use meta::PageMeta;

pub mod meta;
pub mod send;

/// The numeric `:id` of the current route; 0 when it is missing or not a number (the server
/// answers that with 404).
pub fn use_id_param() -> impl Fn() -> i64 + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || {
        params
            .with(|p| p.get("id"))
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    }
}

/// Whether the page being rendered still has its context. A request dropped mid-render (the
/// client went away) disposes of the page's owners while a resource's part may still be
/// rendering; the router's hooks panic there ("outside a <Router>"), so the parts that read the
/// address ask first and render nothing for a page nobody will see.
pub fn page_alive() -> bool {
    use_context::<crate::app::Session>().is_some()
}

/// Links between the pages of a list. The page is in the address (`?<key>=<cursor>`), so paging
/// works without a script, and the other parameters (filters, sort) are kept. Shows a link back
/// to the first page on later pages, and one to the next page when `next` is given.
#[component]
pub fn Pager(
    /// The query parameter holding the cursor.
    key: &'static str,
    next: Option<String>,
    /// Names the navigation for screen readers.
    label: T,
    first_text: T,
    next_text: T,
) -> impl IntoView {
    if !page_alive() {
        return None;
    }
    let query = leptos_router::hooks::use_query_map().get_untracked();
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    let href = |cursor: Option<String>| {
        let mut pairs: Vec<(String, String)> = query
            .latest_values()
            .map(|(k, v)| (k.to_string(), v.to_owned()))
            .filter(|(k, _)| k != key)
            .collect();
        pairs.extend(cursor.map(|c| (key.to_owned(), c)));
        query_href(&path, &pairs)
    };
    let first = query.get_str(key).is_some().then(|| href(None));
    let next = next.map(|n| href(Some(n)));
    (first.is_some() || next.is_some()).then(|| {
        view! {
            <nav class="pager" aria-label=tr(label)>
                {first.map(|h| view! { <a href=h>{tr(first_text)}</a> })}
                {next.map(|h| view! { <a href=h rel="next" data-testid="page-next">{tr(next_text)}</a> })}
            </nav>
        }
    })
}

/// `path?k=v&…`, each key and value percent-encoded but for the characters a URL may carry as
/// they are (letters, digits, `-._~`), so a cursor `0.1200.5` stays readable.
pub fn query_href(path: &str, pairs: &[(String, String)]) -> String {
    fn encode(s: &str, out: &mut String) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = path.to_owned();
    for (i, (k, v)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        encode(k, &mut out);
        out.push('=');
        encode(v, &mut out);
    }
    out
}

/// An amount in fen shown as yuan.
#[component]
pub fn Money(fen: i64) -> impl IntoView {
    view! { <span class="money">{Fen::new(fen).to_string()}</span> }
}

pub fn status_text(s: MonitoringStatus) -> T {
    match s {
        MonitoringStatus::Below => T::status_below,
        MonitoringStatus::Near => T::status_near,
        MonitoringStatus::Above => T::status_above,
        MonitoringStatus::Unknown => T::status_unknown,
    }
}

/// A monitoring status as text in a coloured badge (the text carries the meaning, not the colour).
#[component]
pub fn StatusBadge(status: MonitoringStatus) -> impl IntoView {
    let class = match status {
        MonitoringStatus::Below => "badge badge-below",
        MonitoringStatus::Near => "badge badge-near",
        MonitoringStatus::Above => "badge badge-above",
        MonitoringStatus::Unknown => "badge",
    };
    view! { <span class=class>{tr(status_text(status))}</span> }
}

/// An error from the server, in the current language. Rendered on the server (a page whose data
/// was refused: a bad cursor, a record outside one's region), it also gives the page the
/// error's status, so the page answers 4xx like the API does.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(res), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(error.status),
    ) {
        if status.is_client_error() || status.is_server_error() {
            res.set_status(status);
        }
    }
    let lang = use_lang();
    let text = move || error.text_in(lang.get());
    view! { <p class="notice notice-error" role="alert">{text}</p> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card narrow center" data-testid="not-found">
            <p class="big-code" aria-hidden="true">"404"</p>
            <PageMeta title=T::not_found_title description=T::meta_site/>
            <h1>{tr(T::not_found_title)}</h1>
            <p>{tr(T::not_found_body)}</p>
            <A href="/" attr:class="button">{tr(T::back_home)}</A>
        </section>
    }
}

/// Escapes text for HTML content: `&`, `<`, `>` and quotes.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The one way to put a value in a `<textarea>`. Leptos' HTML renderer writes a textarea's
/// children unescaped (as it does for `<script>` and `<style>`), so a saved description holding
/// `</textarea><script>…` would close the element and run in whoever opens the form. Here the
/// value is escaped once and given as the element's HTML, which the browser decodes back to the
/// exact text (server render and client render alike). Inputs need nothing: attribute values
/// are escaped by the renderer.
#[component]
pub fn TextArea(
    id: &'static str,
    name: &'static str,
    rows: u32,
    maxlength: u32,
    value: String,
) -> impl IntoView {
    view! { <textarea id=id name=name rows=rows maxlength=maxlength inner_html=escape_text(&value)></textarea> }
}

#[cfg(test)]
mod escape_tests {
    #[test]
    fn markup_in_text_stays_text() {
        assert_eq!(
            super::escape_text(r#"</textarea><script>alert("x&y")</script>'"#),
            "&lt;/textarea&gt;&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
        assert_eq!(super::escape_text("政和白茶\n第二行"), "政和白茶\n第二行");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_hrefs_encode_what_a_url_cannot_carry() {
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(super::query_href("/market", &[]), "/market");
        assert_eq!(
            super::query_href(
                "/market",
                &pairs(&[
                    ("q", "白茶 & \"x\""),
                    ("sort", "price_asc"),
                    ("after", "0.-5.7")
                ])
            ),
            "/market?q=%E7%99%BD%E8%8C%B6%20%26%20%22x%22&sort=price_asc&after=0.-5.7"
        );
    }
}

/// Asks the user to confirm an action that cannot be undone (a refund, a cancellation); true
/// when they agree. Only ever called from a click handler, so only in the browser.
pub fn confirmed(question: T) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let lang = use_lang().get_untracked();
        web_sys::window()
            .and_then(|w| w.confirm_with_message(question.t(lang)).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        true
    }
}

/// `s` percent-encoded for a URL's query (everything but RFC 3986's unreserved characters), so
/// a return address can ride in `?next=`.
pub fn url_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// "Log in to see this", linking to log-in with this page to come back to.
#[component]
pub fn NeedLogin() -> impl IntoView {
    let here = use_return_path();
    view! {
        <p data-testid="need-login">
            {tr(T::account_need_login)} " "
            <A href=move || auth_href("/login", &here.get())>{tr(T::nav_login)}</A>
        </p>
    }
}

/// `page` (`/login` or `/register`) with `next` as the place to come back to (none for home).
pub fn auth_href(page: &str, next: &str) -> String {
    if next == "/" {
        page.to_owned()
    } else {
        format!("{page}?next={}", url_component(next))
    }
}

/// The current page (path and query) as a return address for the log-in links. The account
/// pages themselves pass on the `next` they were given, so a hop from log-in to registration
/// still comes back to where the user started.
pub fn use_return_path() -> Signal<String> {
    let location = leptos_router::hooks::use_location();
    Signal::derive(move || {
        let path = location.pathname.get();
        if matches!(path.as_str(), "/login" | "/register" | "/reset") {
            local_next(location.query.with(|q| q.get("next")))
        } else {
            let search = location.search.get();
            if search.is_empty() {
                path
            } else {
                format!("{path}?{search}")
            }
        }
    })
}

/// Where to go after logging in: `next` when it is a path on this site, else home. (Never
/// `//host` or a scheme: an open redirect would let a link send a fresh log-in anywhere.)
pub fn local_next(next: Option<String>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            // As a header's value it must be plain ASCII: anything else is percent-encoded.
            let mut out = String::with_capacity(n.len());
            for c in n.chars() {
                if c.is_ascii() && c != ' ' {
                    out.push(c);
                } else {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
            }
            out
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod return_address_tests {
    use super::{local_next, url_component};

    #[test]
    fn only_paths_on_this_site_are_followed_after_log_in() {
        let next = |s: &str| local_next(Some(s.to_owned()));
        assert_eq!(
            next("/buy?listing=3&quantity=2"),
            "/buy?listing=3&quantity=2"
        );
        assert_eq!(next("/cart"), "/cart");
        assert_eq!(next("/market?q=白 茶"), "/market?q=%E7%99%BD%20%E8%8C%B6");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/x\n/y",
            "",
        ] {
            assert_eq!(next(bad), "/", "{bad:?}");
        }
        assert_eq!(local_next(None), "/");
    }

    #[test]
    fn a_return_address_survives_the_query() {
        assert_eq!(
            url_component("/buy?listing=3&event=9"),
            "%2Fbuy%3Flisting%3D3%26event%3D9"
        );
        assert_eq!(url_component("政和"), "%E6%94%BF%E5%92%8C");
    }

    #[test]
    fn log_in_links_carry_the_page_to_come_back_to() {
        use super::auth_href;
        assert_eq!(auth_href("/login", "/"), "/login");
        assert_eq!(auth_href("/register", "/cart"), "/register?next=%2Fcart");
        assert_eq!(
            auth_href("/login", "/market?q=白茶"),
            "/login?next=%2Fmarket%3Fq%3D%E7%99%BD%E8%8C%B6"
        );
    }
}
