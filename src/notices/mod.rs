//! The notification centre: `/notices`, the user's notices newest first, each linking to where
//! to act, with a button that marks them all read (the header's count follows).

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;

use crate::domain::calendar::date_time_of;
use crate::domain::notice::NoticeKind;
use crate::i18n::{tr, use_lang, T};
use crate::ui::meta::PageMeta;
use crate::ui::{ErrorNotice, Pager};
use api::MarkRead;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn NoticesPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let after = move || query.with(|m| m.get("after"));
    let read = ServerAction::<MarkRead>::new();
    // The header's unread count comes with the session: ask again once they are read.
    let session = crate::app::use_session();
    Effect::new(move |_| {
        if read.version().get() > 0 {
            session.user.refetch();
        }
    });
    let data = Resource::new(
        move || (after(), read.version().get()),
        |(a, _)| api::notices(a),
    );
    view! {
        <section class="section">
            <PageMeta title=T::notices_title description=T::meta_site private=true/>
            <h1>{tr(T::notices_title)}</h1>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) if e.code == crate::error::ErrorCode::Unauthenticated => {
                        view! { <crate::ui::NeedLogin/> }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(d) if d.page.items.is_empty() => view! {
                        <p class="empty" data-testid="notices-empty">{tr(T::notices_none)}</p>
                    }.into_any(),
                    Ok(d) => view! {
                        {(d.unread > 0).then(|| view! {
                            <ActionForm action=read attr:class="inline-form">
                                <button type="submit" class="button" data-testid="notices-read-all">{tr(T::notices_read_all)}</button>
                            </ActionForm>
                        })}
                        <ul class="notice-list" data-testid="notices">
                            {d.page.items.iter().map(|n| {
                                let kind = NoticeKind::parse(&n.kind);
                                let subject = n.subject_id;
                                let text = move || kind.map(|k| k.text(subject, lang.get())).unwrap_or_default();
                                view! {
                                    <li class="notice" class:is-unread=!n.read data-testid="notice">
                                        <a href=kind.map(|k| k.link()).unwrap_or("/")>{text}</a>
                                        <time class="muted">{date_time_of(n.created_at)}</time>
                                        {(!n.read).then(|| view! { <span class="badge">{tr(T::notices_new)}</span> })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <Pager key="after" next=d.page.next.clone() label=T::notices_pages first_text=T::pages_first next_text=T::pages_next/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
