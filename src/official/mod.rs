//! Officials' view of the households in their region (防止返贫监测).

pub mod api;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod server;

use crate::app::use_session;
use crate::domain::money::Fen;
use crate::i18n::{tr, T};
use crate::ui::meta::PageMeta;
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
                query.get().get("filter"),
                session.login.version().get(),
                session.logout.version().get(),
            )
        },
        |(region, after, filter, _, _)| region_households(region, after, filter),
    );
    view! {
        <section class="section">
            <PageMeta title=T::households_title description=T::meta_site private=true/>
            <h1>{tr(T::households_title)}</h1>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) if e.code == crate::error::ErrorCode::Unauthenticated => {
                        view! { <crate::ui::NeedLogin/> }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(d) => view! {
                        <p>
                            <a href=crate::ui::query_href("/region", &[("region".into(), d.region_code.clone())])>{tr(T::dash_title)}</a>
                            " · "
                            <ExportLinks table="households" label=T::dash_export params=vec![("region".into(), d.region_code.clone()), ("filter".into(), d.filter.clone().unwrap_or_default())]/>
                        </p>
                        <p class="summary" data-testid="households-summary">
                            <strong>{d.region_name.clone()}</strong> " · "
                            {d.total} " " {tr(T::households_summary)} " " <strong>{d.below}</strong>
                            " · " {tr(T::households_near)} " " <strong>{d.near}</strong>
                            {d.line_fen.map(|l| view! {
                                " · " {tr(T::households_line)} " " <Money fen=l/> " " {tr(T::yuan_per_person_year)}
                            })}
                        </p>
                        <p class="muted">{tr(T::rolling_definition)}</p>
                        <FilterTabs region=d.region_code.clone() current=d.filter.clone()/>
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
                                        <th scope="col">{tr(T::file_category)}</th>
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
                                            <td>{h.category.map(|c| tr(crate::monitoring::category_text(c)))}</td>
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

/// The filters of the households list, with their labels.
const FILTERS: [(&str, T); 8] = [
    ("", T::filter_all),
    ("below", T::filter_below),
    ("near", T::filter_near),
    ("monitored", T::filter_monitored),
    ("unstable", T::cat_unstable),
    ("marginal", T::cat_marginal),
    ("sudden", T::cat_sudden),
    ("overdue", T::visit_overdue),
];

/// Links to the same list under each filter.
#[component]
fn FilterTabs(region: String, current: Option<String>) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    view! {
        <nav class="tabs" aria-label=move || T::filter_label.t(lang.get())>
            {FILTERS.iter().map(|(key, label)| {
                let mut pairs = vec![("region".to_owned(), region.clone())];
                if !key.is_empty() {
                    pairs.push(("filter".into(), key.to_string()));
                }
                let href = crate::ui::query_href("/households", &pairs);
                let here = current.as_deref().unwrap_or("") == *key;
                view! { <a href=href aria-current=here.then_some("page")>{tr(*label)}</a> }
            }).collect_view()}
        </nav>
    }
}

/// A figure that links to the rows behind it.
#[component]
fn Figure(
    label: T,
    value: String,
    href: Option<String>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="kpi" data-testid=testid>
            <span>{tr(label)}</span>
            <strong>{match href {
                Some(h) => view! { <a href=h>{value}</a> }.into_any(),
                None => view! { {value} }.into_any(),
            }}</strong>
        </div>
    }
}

fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        "—".into()
    } else {
        format!("{}%", part * 100 / whole)
    }
}

/// Households by rolling income against the line, as an SVG bar chart.
#[component]
fn DistributionChart(counts: Vec<i64>) -> impl IntoView {
    let labels: Vec<String> = {
        let mut l = Vec::new();
        let mut lo = 0;
        for b in api::DISTRIBUTION_BUCKETS {
            l.push(format!("{lo}–{b}%"));
            lo = b;
        }
        l.push(format!("≥{lo}%"));
        l.push("?".into());
        l
    };
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let (w, h, pad) = (600.0_f64, 220.0_f64, 24.0_f64);
    let n = counts.len().max(1) as f64;
    let bar = (w - 2.0 * pad) / n;
    let scale = (h - 3.0 * pad) / max as f64;
    let base = h - pad;
    // Buckets under the line (the first three) are drawn in the warning colour.
    view! {
        <svg class="chart" viewBox=format!("0 0 {w} {h}") role="img" aria-labelledby="dist-title">
            <title id="dist-title">{tr(T::dash_distribution)}</title>
            <line x1=pad y1=base x2={w - pad} y2=base class="axis"/>
            {counts.iter().enumerate().map(|(i, c)| {
                let bh = (*c as f64 * scale).max(if *c > 0 { 1.0 } else { 0.0 });
                let x = pad + i as f64 * bar + bar * 0.15;
                let class = if i < 3 { "bar negative" } else { "bar" };
                view! {
                    <g>
                        <rect x=x y={base - bh} width={bar * 0.7} height=bh class=class>
                            <title>{format!("{}: {c}", labels[i])}</title>
                        </rect>
                        <text x={x + bar * 0.35} y={base - bh - 4.0} text-anchor="middle" class="tick">{*c}</text>
                        <text x={x + bar * 0.35} y={h - 6.0} text-anchor="middle" class="tick">{labels[i].clone()}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
}

/// `/region`: the region dashboard with its drill-down.
#[component]
pub fn RegionPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || {
            query.with(|q| {
                (
                    q.get("region"),
                    q.get("year"),
                    q.get("sort"),
                    q.get("after"),
                )
            })
        },
        |(region, year, sort, after)| api::region_dashboard(region, year, sort, after),
    );
    view! {
        <section class="section">
            <PageMeta title=T::dash_title description=T::meta_site private=true/>
            <h1>{tr(T::dash_title)}</h1>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) if e.code == crate::error::ErrorCode::Unauthenticated => {
                        view! { <crate::ui::NeedLogin/> }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(d) => view! { <Dashboard d=d/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Download links for one exported table (`/export/{table}.xlsx` and `.csv`).
#[component]
fn ExportLinks(table: &'static str, label: T, params: Vec<(String, String)>) -> impl IntoView {
    let href = |ext: &str| crate::ui::query_href(&format!("/export/{table}.{ext}"), &params);
    view! {
        <span class="export-links">
            {tr(label)} " "
            <a href=href("xlsx") download data-testid=format!("export-{table}-xlsx")>"Excel"</a>
            " · "
            <a href=href("csv") download data-testid=format!("export-{table}-csv")>"CSV"</a>
        </span>
    }
}

#[component]
fn Dashboard(d: api::Dashboard) -> impl IntoView {
    let r = d.region.clone();
    let code = r.code.clone();
    let list = move |filter: &str| {
        let mut pairs = vec![("region".to_owned(), code.clone())];
        if !filter.is_empty() {
            pairs.push(("filter".into(), filter.to_owned()));
        }
        Some(crate::ui::query_href("/households", &pairs))
    };
    let money = |f: i64| Fen::new(f).to_string();
    let this_year = d.year;
    let region_code = r.code.clone();
    let sort_href = {
        let region_code = region_code.clone();
        move |sort: &str| {
            crate::ui::query_href(
                "/region",
                &[
                    ("region".into(), region_code.clone()),
                    ("year".into(), this_year.to_string()),
                    ("sort".into(), sort.to_owned()),
                ],
            )
        }
    };
    let years: Vec<i64> = (0..5).map(|k| d.this_year - k).collect();
    let monthly: Vec<i64> = d.monthly.iter().map(|(v, _)| *v).collect();
    view! {
        <nav class="trail" aria-label=move || T::dash_trail.t(crate::i18n::use_lang().get())>
            {d.trail.iter().map(|(c, n)| {
                let href = crate::ui::query_href("/region", &[("region".into(), c.clone()), ("year".into(), this_year.to_string())]);
                view! { <a href=href>{n.clone()}</a> " › " }
            }).collect_view()}
        </nav>
        <form method="get" action="/region" class="form inline-fields">
            <input type="hidden" name="region" value=r.code.clone()/>
            <label for="dash-year">{tr(T::dash_year)}</label>
            <select id="dash-year" name="year">
                {years.into_iter().map(|y| view! { <option value=y selected=y == this_year>{y}</option> }).collect_view()}
            </select>
            <button type="submit" class="button">{tr(T::dash_show)}</button>
        </form>
        <p class="muted">{tr(T::rolling_definition)}
            {d.line_fen.map(|l| view! { " " {tr(T::households_line)} " " <Money fen=l/> " " {tr(T::yuan_per_person_year)} })}
        </p>
        <div class="kpis" data-testid="dash-kpis">
            <Figure label=T::dash_households value=r.households.to_string() href=list("") testid="dash-households"/>
            <Figure label=T::filter_below value=r.below.to_string() href=list("below") testid="dash-below"/>
            <Figure label=T::filter_near value=r.near.to_string() href=list("near")/>
            <Figure label=T::filter_monitored value=r.monitored.to_string() href=list("monitored") testid="dash-monitored"/>
            <Figure label=T::cat_unstable value=r.unstable.to_string() href=list("unstable")/>
            <Figure label=T::cat_marginal value=r.marginal.to_string() href=list("marginal")/>
            <Figure label=T::cat_sudden value=r.sudden.to_string() href=list("sudden")/>
            <Figure label=T::dash_verified value=money(r.verified_fen) href=list("") testid="dash-verified"/>
            <Figure label=T::dash_attested value=money(r.attested_fen) href=list("")/>
            <Figure label=T::dash_with_sale value=format!("{} ({})", r.with_sale, percent(r.with_sale, r.households)) href=list("")/>
            <Figure label=T::dash_gmv value=money(r.gmv_fen) href=None/>
            <Figure label=T::dash_stalled value=r.stalled.to_string() href=Some("/market?stalled=1".into())/>
            <Figure label=T::dash_links value=format!("{} / {}", r.linked_organisations, r.linked_households) href=list("")/>
            <Figure label=T::dash_pledges value=format!("{} / {}", d.pledges.fulfilled, d.pledges.pledges) href=None/>
            <Figure label=T::dash_paired value=r.paired.to_string() href=list("monitored")/>
            <Figure label=T::visit_overdue value=r.overdue_visits.to_string() href=list("overdue") testid="dash-overdue"/>
            <Figure label=T::dash_org_pairings value=format!("{} / {}", r.org_pairings, money(r.org_bought_fen)) href=None/>
            <Figure label=T::dash_unpaid_links value=r.unpaid_links.to_string() href=None/>
            <Figure label=T::dash_open_reports value=r.open_reports.to_string() href=Some(crate::ui::query_href("/monitoring", &[("region".into(), r.code.clone())]))/>
        </div>
        <p class="exports">
            <ExportLinks table="households" label=T::dash_export params=vec![("region".into(), r.code.clone())]/>
            <ExportLinks table="national" label=T::export_national params=vec![("region".into(), r.code.clone())]/>
        </p>
        <div class="charts">
            <figure>
                <crate::ledger::MonthChart months=monthly title=T::dash_monthly/>
                <figcaption>{tr(T::dash_monthly)}</figcaption>
            </figure>
            {d.line_fen.is_some().then(|| view! {
                <figure>
                    <DistributionChart counts=d.distribution.clone()/>
                    <figcaption>{tr(T::dash_distribution)}</figcaption>
                </figure>
            })}
        </div>
        {(!d.children.items.is_empty()).then(|| {
            let h = sort_href.clone();
            view! {
            <h2 id="children-title">{tr(T::dash_children)}</h2>
            <p class="exports">
                <ExportLinks table="regions" label=T::export_regions params=vec![("region".into(), r.code.clone()), ("year".into(), this_year.to_string())]/>
            </p>
            <div class="table-wrap" tabindex="0" role="region" aria-labelledby="children-title">
                <table class="table" data-testid="dash-children">
                    <thead><tr>
                        <th scope="col"><a href=h("code")>{tr(T::dash_region)}</a></th>
                        <th scope="col" class="num">{tr(T::dash_households)}</th>
                        <th scope="col" class="num"><a href=h("below")>{tr(T::filter_below)}</a></th>
                        <th scope="col" class="num">{tr(T::filter_near)}</th>
                        <th scope="col" class="num"><a href=h("monitored")>{tr(T::filter_monitored)}</a></th>
                        <th scope="col" class="num"><a href=h("overdue")>{tr(T::visit_overdue)}</a></th>
                        <th scope="col" class="num"><a href=h("verified")>{tr(T::dash_verified)}</a></th>
                        <th scope="col" class="num">{tr(T::dash_with_sale)}</th>
                        <th scope="col" class="num">{tr(T::dash_gmv)}</th>
                        <th scope="col" class="num">{tr(T::dash_stalled)}</th>
                        <th scope="col" class="num">{tr(T::dash_open_reports)}</th>
                    </tr></thead>
                    <tbody>
                        {d.children.items.iter().map(|c| {
                            let href = crate::ui::query_href("/region", &[("region".into(), c.code.clone()), ("year".into(), this_year.to_string())]);
                            let hl = |f: &str| crate::ui::query_href("/households", &[("region".into(), c.code.clone()), ("filter".into(), f.to_owned())]);
                            view! {
                                <tr>
                                    <td><a href=href>{c.name.clone()}</a></td>
                                    <td class="num"><a href=crate::ui::query_href("/households", &[("region".into(), c.code.clone())])>{c.households}</a></td>
                                    <td class="num"><a href=hl("below")>{c.below}</a></td>
                                    <td class="num"><a href=hl("near")>{c.near}</a></td>
                                    <td class="num"><a href=hl("monitored")>{c.monitored}</a></td>
                                    <td class="num"><a href=hl("overdue")>{c.overdue_visits}</a></td>
                                    <td class="num">{Fen::new(c.verified_fen).to_string()}</td>
                                    <td class="num">{percent(c.with_sale, c.households)}</td>
                                    <td class="num">{Fen::new(c.gmv_fen).to_string()}</td>
                                    <td class="num">{c.stalled}</td>
                                    <td class="num"><a href=crate::ui::query_href("/monitoring", &[("region".into(), c.code.clone())])>{c.open_reports}</a></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <Pager key="after" next=d.children.next.clone() label=T::dash_children first_text=T::pages_first next_text=T::pages_next/>
        }})}
    }
}
