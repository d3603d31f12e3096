//! The home page: what the market is, and the counties it serves (read from the database).

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;

use crate::i18n::{tr, use_lang, Lang, T};
use crate::ui::ErrorNotice;
use api::county_summaries;
use leptos::prelude::*;

#[component]
pub fn HomePage() -> impl IntoView {
    let lang = use_lang();
    let counties = Resource::new(|| (), |_| county_summaries());
    view! {
        <section class="hero">
            <h1>{tr(T::app_name)}</h1>
            <p class="lead">{tr(T::app_tagline)}</p>
            <ol class="steps">
                <li>{tr(T::home_how_1)}</li>
                <li>{tr(T::home_how_2)}</li>
                <li>{tr(T::home_how_3)}</li>
            </ol>
        </section>
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
                                let name = c.name.clone();
                                let name_en = c.name_en.clone();
                                let city = c.city_name.clone();
                                let city_en = c.city_name_en.clone();
                                view! {
                                    <li class="county-card">
                                        <h3>{move || match lang.get() {
                                            Lang::En => name_en.clone().unwrap_or_else(|| name.clone()),
                                            Lang::Zh => name.clone(),
                                        }}</h3>
                                        <p class="muted">{move || match lang.get() {
                                            Lang::En => city_en.clone().or_else(|| city.clone()).unwrap_or_default(),
                                            Lang::Zh => city.clone().unwrap_or_default(),
                                        }}</p>
                                        <dl class="stats">
                                            <div><dt>{tr(T::home_col_households)}</dt><dd>{c.households}</dd></div>
                                            <div><dt>{tr(T::home_col_orgs)}</dt><dd>{c.organisations}</dd></div>
                                        </dl>
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
