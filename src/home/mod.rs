//! The home page: what the market is, and the counties it serves (read from the database).

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;

use crate::i18n::{tr, use_lang, Lang, T};
use crate::ui::meta::{PageMeta, Words};
use crate::ui::ErrorNotice;
use api::county_summaries;
use leptos::prelude::*;

#[component]
pub fn HomePage() -> impl IntoView {
    let lang = use_lang();
    let counties = Resource::new(|| (), |_| county_summaries());
    view! {
        <PageMeta title=T::app_name description=T::meta_site/>
        <section class="hero">
            <h1>{tr(T::app_name)}</h1>
            <p class="lead">{tr(T::app_tagline)}</p>
            <ol class="steps">
                <li>{tr(T::home_how_1)}</li>
                <li>{tr(T::home_how_2)}</li>
                <li>{tr(T::home_how_3)}</li>
            </ol>
        </section>
        <crate::auth::HomePledge/>
        <crate::live::HomeLive/>
        <crate::market::HomeMarket/>
        <section class="section" aria-labelledby="counties-title">
            <h2 id="counties-title">{tr(T::home_counties_title)}</h2>
            <p class="muted">{tr(T::home_counties_intro)}</p>
            <Suspense fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || counties.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">{tr(T::home_empty)}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="county-grid" data-testid="county-list">
                            {list.into_iter().map(|c| {
                                let (href, households, organisations) = (format!("/county/{}", c.code), c.households, c.organisations);
                                let city = c.clone();
                                view! {
                                    <li class="county-card">
                                        <h3><a href=href data-testid="county-link">{move || c.name_in(lang.get())}</a></h3>
                                        <p class="muted">{move || city.city_in(lang.get())}</p>
                                        <CountyStats households organisations/>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// `/county/:code`: a county's page — its households and co-ops here, its livestreams (live,
/// coming with a calendar reminder, past with results) and its produce, stalled first.
#[component]
pub fn CountyPage() -> impl IntoView {
    let lang = use_lang();
    let params = leptos_router::hooks::use_params_map();
    let code = move || params.with(|p| p.get("code")).unwrap_or_default();
    let summary = Resource::new(code, api::county);
    let events = Resource::new(code, |c| crate::live::api::live_events(None, Some(c)));
    let produce = Resource::new(code, |c| {
        crate::market::api::catalogue(crate::market::api::CatalogueQuery {
            county: Some(c),
            ..Default::default()
        })
    });
    view! {
        <Suspense fallback=|| ()>
            {move || summary.get().map(|r| match r {
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                Ok(c) => {
                    let (code, households, organisations) = (c.code.clone(), c.households, c.organisations);
                    let city = c.clone();
                    view! {
                        <PageMeta
                            title=Words::each(c.name_in(Lang::Zh), c.name_in(Lang::En))
                            description=Words::each(
                                format!("{}的农户好货、直播带货和增收情况：{} 户农户，{} 家合作社与企业。", c.name_in(Lang::Zh), households, organisations),
                                format!("Produce, livestream sales and household income in {}: {} households, {} co-ops and enterprises.", c.name_in(Lang::En), households, organisations),
                            )/>
                        <section class="hero county-hero">
                            <h1 data-testid="county-name">{move || c.name_in(lang.get())}</h1>
                            <p class="lead">{move || city.city_in(lang.get())}</p>
                            <CountyStats households organisations/>
                        </section>
                        <section class="section" aria-labelledby="county-live-title" data-testid="county-live">
                            <h2 id="county-live-title">{tr(T::live_title)}</h2>
                            <Suspense fallback=|| ()>
                                {move || events.get().map(|r| match r {
                                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                                    Ok(l) => {
                                        let current: Vec<_> = l.live.into_iter().chain(l.upcoming).collect();
                                        let past: Vec<_> = l.past.items.into_iter().take(3).collect();
                                        view! {
                                            {if current.is_empty() {
                                                view! { <p class="empty">{tr(T::live_none_upcoming)}</p> }.into_any()
                                            } else {
                                                view! { <ul class="live-grid" data-testid="county-upcoming">{current.into_iter().map(|c| view! { <crate::live::EventCard card=c/> }).collect_view()}</ul> }.into_any()
                                            }}
                                            {(!past.is_empty()).then(|| view! {
                                                <h3>{tr(T::live_past)}</h3>
                                                <ul class="live-grid" data-testid="county-past">{past.into_iter().map(|c| view! { <crate::live::EventCard card=c/> }).collect_view()}</ul>
                                            })}
                                        }.into_any()
                                    }
                                })}
                            </Suspense>
                        </section>
                        <section class="section" aria-labelledby="county-produce-title">
                            <h2 id="county-produce-title">{tr(T::county_produce)}</h2>
                            <Suspense fallback=|| ()>
                                {move || produce.get().map(|r| match r {
                                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                                    Ok(page) if page.items.is_empty() => view! { <p class="empty">{tr(T::county_no_produce)}</p> }.into_any(),
                                    Ok(page) => view! {
                                        <ul class="listing-grid" data-testid="county-produce">
                                            {crate::market::listing_cards(page.items.into_iter().take(12), false)}
                                        </ul>
                                    }.into_any(),
                                })}
                            </Suspense>
                            <p><a href=format!("/market?county={code}")>{tr(T::county_all_produce)}</a></p>
                        </section>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// A county's households and co-ops/enterprises here.
#[component]
fn CountyStats(households: i64, organisations: i64) -> impl IntoView {
    view! {
        <dl class="stats">
            <div><dt>{tr(T::home_col_households)}</dt><dd>{households}</dd></div>
            <div><dt>{tr(T::home_col_orgs)}</dt><dd>{organisations}</dd></div>
        </dl>
    }
}
