//! Shops (网店): a page per co-op or enterprise, per household selling its own produce, and per
//! village, with its listings, what its sales added to household incomes this year, and a short
//! link and QR code to share or print.

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;

use crate::domain::calendar::date_time_of;
use crate::domain::money::Fen;
use crate::i18n::{tr, use_lang, Lang, T};
use crate::market::listing_cards;
use crate::ui::meta::{PageMeta, Words};
use crate::ui::{ErrorNotice, Money, Pager};
use api::ShopView;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

fn kind_label(kind: &str) -> T {
    match kind {
        "coop" => T::shop_kind_coop,
        "enterprise" => T::shop_kind_enterprise,
        "household" => T::shop_kind_household,
        _ => T::shop_kind_village,
    }
}

/// A short link and its QR code, to copy, scan or print. `qr` is the code's address on this
/// site; `name` says what it opens, for the picture's text alternative.
#[component]
pub fn ShareBox(url: String, qr: String, title: T, #[prop(into)] file: String) -> impl IntoView {
    let id = format!("share-{file}");
    view! {
        <section class="card share" aria-labelledby=format!("{id}-title") data-testid="share">
            <h2 id=format!("{id}-title")>{tr(title)}</h2>
            <div class="share-body">
                <img class="share-qr" src=qr.clone() width="128" height="128" loading="lazy"
                    alt=tr(T::share_qr_alt) data-testid="share-qr"/>
                <div class="share-text">
                    <label for=format!("{id}-url")>{tr(T::share_short)}</label>
                    <input id=format!("{id}-url") class="share-url" type="text" readonly value=url
                        data-testid="share-url"/>
                    <p><a href=qr download=format!("zhunong-{file}.svg")>{tr(T::share_download)}</a></p>
                </div>
            </div>
        </section>
    }
}

fn meta_of(s: &ShopView) -> (Words, Words) {
    // "福建省 南平市 政和县 …": the county is the third name.
    let county = s.place.split(' ').nth(2).filter(|c| *c != s.name);
    let zh_title = match county {
        Some(c) => format!("{} · {c}", s.name),
        None => s.name.clone(),
    };
    let en_name = s.name_en.clone().unwrap_or_else(|| s.name.clone());
    let zh_added = if s.added_fen > 0 {
        format!("今年已为农户增收 {}。", Fen::new(s.added_fen))
    } else {
        "每一笔付款都记入受益农户的收入台账。".to_owned()
    };
    let en_added = if s.added_fen > 0 {
        format!(
            "Added {} to household incomes this year.",
            Fen::new(s.added_fen)
        )
    } else {
        "Every payment goes to the income records of the households it benefits.".to_owned()
    };
    let first = |lang: Lang| -> Vec<String> {
        s.listings
            .items
            .iter()
            .take(3)
            .map(|c| c.title_in(lang))
            .collect()
    };
    (
        Words::each(zh_title, en_name.clone()),
        Words::each(
            format!(
                "{}（{}）的网店：{}。{}",
                s.name,
                s.place,
                first(Lang::Zh).join("、"),
                zh_added
            ),
            format!(
                "The shop of {en_name}{}: {}. {en_added}",
                s.place_en
                    .as_ref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default(),
                first(Lang::En).join(", ")
            ),
        ),
    )
}

#[component]
pub fn ShopPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let query = use_query_map();
    let key = move || params.with(|p| p.get("key")).unwrap_or_default();
    let after = move || query.with(|m| m.get("after"));
    let shop = Resource::new(move || (key(), after()), |(k, a)| api::shop(k, a));
    view! {
        <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
            {move || shop.get().map(|r| match r {
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                Ok(s) => {
                    let (title, description) = meta_of(&s);
                    let image = s.listings.items.iter().find_map(|c| c.photo.clone());
                    let (zh_name, en_name) = (s.name.clone(), s.name_en.clone().unwrap_or_default());
                    let name = move || lang.get().pick(&zh_name, &en_name);
                    let (zh_place, en_place) = (s.place.clone(), s.place_en.clone().unwrap_or_default());
                    let place = move || lang.get().pick(&zh_place, &en_place);
                    let qr = format!("{}/qr.svg", s.share_path);
                    view! {
                        <PageMeta title=title description=description image=image/>
                        <article class="shop" data-testid="shop">
                            <header class="shop-head">
                                <p class="badges"><span class="badge">{tr(kind_label(&s.kind))}</span></p>
                                <h1>{name}</h1>
                                <p class="muted shop-place">{place}</p>
                                {s.products.clone().map(|p| view! { <p><strong>{tr(T::shop_products)}</strong> " " {p}</p> })}
                                {s.village.clone().map(|v| view! {
                                    <p>{tr(T::shop_village)} " " <a href=format!("/shop/{}", v.key) data-testid="village-link">{v.name}</a></p>
                                })}
                                {let (zh, en) = (s.story.clone().unwrap_or_default(), s.story_en.clone().unwrap_or_default());
                                 move || Some(lang.get().pick(&zh, &en)).filter(|st| !st.is_empty())
                                    .map(|st| view! { <p class="story" data-testid="shop-story">{st}</p> })}
                                {s.editable.then(|| view! {
                                    <p><a class="button" href=format!("/shop/{}/edit", s.key) data-testid="shop-edit">{tr(T::shop_edit)}</a></p>
                                })}
                            </header>
                            {s.figures_shown.then(|| view! {
                            <section class="shop-figures" aria-labelledby="shop-figures-title">
                                <h2 id="shop-figures-title" class="visually-hidden">{tr(T::shop_figures)}</h2>
                                // Never a lead of zeros: before its first paid order of the year, what will happen.
                                {if s.units_sold > 0 || s.added_fen > 0 {
                                    view! {
                                        <dl class="stats" data-testid="shop-stats">
                                            <div><dt>{tr(T::shop_units)}</dt><dd data-testid="shop-units">{s.units_sold}</dd></div>
                                            <div><dt>{tr(T::shop_added)}</dt><dd data-testid="shop-added"><Money fen=s.added_fen/></dd></div>
                                            {(s.households > 0).then(|| view! { <div><dt>{tr(T::shop_households)}</dt><dd>{s.households}</dd></div> })}
                                            {(s.rating.count > 0).then(|| view! {
                                                <div><dt>{tr(T::shop_rating)} " (" {s.rating.count} ")"</dt><dd data-testid="shop-rating">{s.rating.average()}</dd></div>
                                            })}
                                        </dl>
                                    }.into_any()
                                } else {
                                    view! { <p data-testid="shop-stats">{tr(T::shop_none_yet)}</p> }.into_any()
                                }}
                            </section>
                            })}
                            {(!s.events.is_empty()).then(|| view! {
                                <section aria-labelledby="shop-events-title">
                                    <h2 id="shop-events-title">{tr(T::shop_events)}</h2>
                                    <ul class="plain-list">
                                        {s.events.iter().map(|e| view! {
                                            <li>
                                                <a href=format!("/live/{}", e.id)>{e.title.clone()}</a> " "
                                                {if e.live {
                                                    view! { <span class="badge badge-below">{tr(T::shop_live_now)}</span> }.into_any()
                                                } else {
                                                    view! { <span class="muted">{date_time_of(e.starts_at)}</span> }.into_any()
                                                }}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                </section>
                            })}
                            {(!s.sellers.is_empty()).then(|| view! {
                                <section aria-labelledby="shop-sellers-title">
                                    <h2 id="shop-sellers-title">{tr(T::shop_sellers)}</h2>
                                    <ul class="plain-list" data-testid="shop-sellers">
                                        {s.sellers.iter().map(|v| view! { <li><a href=format!("/shop/{}", v.key)>{v.name.clone()}</a></li> }).collect_view()}
                                    </ul>
                                </section>
                            })}
                            <section aria-labelledby="shop-listings-title">
                                <h2 id="shop-listings-title">{tr(T::shop_listings)}</h2>
                                {if s.listings.items.is_empty() {
                                    view! { <p class="empty">{tr(T::shop_no_listings)}</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="listing-grid" data-testid="shop-listings">
                                            {listing_cards(s.listings.items.clone(), false)}
                                        </ul>
                                    }.into_any()
                                }}
                                <Pager key="after" next=s.listings.next.clone() label=T::shop_pages first_text=T::pages_first next_text=T::pages_next/>
                            </section>
                            {(!s.certificates.is_empty()).then(|| view! {
                                <section aria-labelledby="shop-certs-title">
                                    <h2 id="shop-certs-title">{tr(T::shop_certificates)}</h2>
                                    <ul class="plain-list">
                                        {s.certificates.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}
                                    </ul>
                                </section>
                            })}
                            <ShareBox url=s.share_url.clone() qr=qr title=T::shop_share file=s.key.clone()/>
                        </article>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// `/shop/:key/edit`: the shop's own words, for whoever keeps it. A plain form: without a
/// script it posts and the server answers with the shop's page.
#[component]
pub fn ShopEditPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || params.with(|p| p.get("key")).unwrap_or_default();
    let profile = Resource::new(key, api::shop_profile);
    let save = ServerAction::<api::SaveShopProfile>::new();
    let navigate = leptos_router::hooks::use_navigate();
    // Saved: to the shop's page, which shows the new words (a household that sells nothing
    // itself yet has none: the form says it was saved).
    Effect::new(move |_| {
        if let Some(Ok(p)) = save.value().get() {
            if p.has_page {
                navigate(&format!("/shop/{}", p.key), Default::default());
            }
        }
    });
    let saved = move || matches!(save.value().get(), Some(Ok(_)));
    let error = move || save.value().get().and_then(Result::err);
    view! {
        <section class="card">
            <PageMeta title=T::shop_edit_title description=T::shop_edit_lead private=true/>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || profile.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(p) => view! {
                        <h1>{tr(T::shop_edit_title)} " · " {p.name.clone()}</h1>
                        <p class="muted">{tr(T::shop_edit_lead)}</p>
                        <ActionForm action=save attr:class="form" attr:data-testid="shop-edit-form">
                            <input type="hidden" name="key" value=p.key.clone()/>
                            {p.has_name_en.then(|| view! {
                                <label for="name_en">{tr(T::shop_field_name_en)}</label>
                                <input id="name_en" name="name_en" maxlength=api::MAX_SHOP_NAME_EN lang="en" value=p.name_en.clone()
                                    placeholder=p.name_en_default.clone()/>
                            })}
                            <label for="story">{tr(T::shop_field_story)}</label>
                            <crate::ui::TextArea id="story" name="story" rows=5 maxlength={api::MAX_SHOP_STORY as u32} value=p.story.clone()/>
                            <label for="story_en">{tr(T::shop_field_story_en)}</label>
                            <crate::ui::TextArea id="story_en" name="story_en" rows=5 maxlength={api::MAX_SHOP_STORY as u32} value=p.story_en.clone()/>
                            {(!p.story_shown).then(|| view! { <p class="muted" data-testid="shop-story-consent">{tr(T::shop_story_consent)}</p> })}
                            <div class="form-error">{move || error().map(|e| view! { <ErrorNotice error=e/> })}</div>
                            {move || saved().then(|| view! { <p class="muted" role="status" data-testid="shop-saved">{tr(T::shop_saved)}</p> })}
                            <p>
                                <button type="submit" class="button primary">{tr(T::save)}</button> " "
                                {if p.has_page {
                                    view! { <a href=format!("/shop/{}", p.key)>{tr(T::shop_back)}</a> }.into_any()
                                } else {
                                    view! { <a href="/seller/listings">{tr(T::seller_title)}</a> }.into_any()
                                }}
                            </p>
                        </ActionForm>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
