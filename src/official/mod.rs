//! Officials' view of the households in their region (防止返贫监测).

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;

use crate::app::use_session;
use crate::domain::money::Fen;
use crate::i18n::{tr, T};
use crate::ui::{ErrorNotice, Money, Pager, StatusBadge};
use api::region_households;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn HouseholdsPage() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    // Not keyed on the session resource: on the server that is still pending while this one is
    // created. The server function checks who is asking; log-in and log-out refetch.
    let data = Resource::new(
        move || {
            (
                query.get().get("region"),
                query.get().get("after"),
                session.login.version().get(),
                session.logout.version().get(),
            )
        },
        |(region, after, _, _)| region_households(region, after),
    );
    view! {
        <section class="section">
            <h1>{tr(T::households_title)}</h1>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) if e.code == crate::error::ErrorCode::Unauthenticated => {
                        view! { <p>{tr(T::account_need_login)} " " <A href="/login">{tr(T::nav_login)}</A></p> }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(d) => view! {
                        <p class="summary" data-testid="households-summary">
                            <strong>{d.region_name.clone()}</strong> " · "
                            {d.total} " " {tr(T::households_summary)} " " <strong>{d.below}</strong>
                            " · " {tr(T::households_near)} " " <strong>{d.near}</strong>
                            {d.line_fen.map(|l| view! {
                                " · " {tr(T::households_line)} " " <Money fen=l/> " " {tr(T::yuan_per_person_year)}
                            })}
                        </p>
                        <div class="table-wrap" tabindex="0" role="region" aria-labelledby="households-caption">
                            <table class="table">
                                <caption id="households-caption" class="visually-hidden">{tr(T::households_title)}</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">{tr(T::households_col_name)}</th>
                                        <th scope="col">{tr(T::households_col_village)}</th>
                                        <th scope="col" class="num">{tr(T::households_col_members)}</th>
                                        <th scope="col" class="num">{tr(T::households_col_income)}</th>
                                        <th scope="col">{tr(T::households_col_status)}</th>
                                        <th scope="col" class="num">{tr(T::households_col_verified)}</th>
                                        <th scope="col" class="num">{tr(T::households_col_attested)}</th>
                                        <th scope="col" class="num">{tr(T::households_col_links)}</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {d.households.items.into_iter().map(|h| view! {
                                        <tr>
                                            <td><A href=format!("/households/{}", h.id)>{h.head_name}</A></td>
                                            <td>{h.village_name}</td>
                                            <td class="num">{h.members}</td>
                                            <td class="num">{h.per_capita_fen.map(|f| Fen::new(f).to_string()).unwrap_or_else(|| "—".into())}</td>
                                            <td><StatusBadge status=h.status/></td>
                                            <td class="num" data-testid="household-verified">{Fen::new(h.verified_fen).to_string()}</td>
                                            <td class="num">{Fen::new(h.attested_fen).to_string()}</td>
                                            <td class="num">{h.link_count}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <Pager key="after" next=d.households.next label=T::households_pages first_text=T::pages_first next_text=T::pages_next/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
