//! 收入台账: the household income record.

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;

use crate::i18n::{tr, use_lang, T};
use crate::ui::{ErrorNotice, Money, StatusBadge};
use api::household_income;
use leptos::prelude::*;

pub fn source_text(source: &str) -> T {
    match source {
        "sale" => T::source_sale,
        "sale_reversal" => T::source_sale_reversal,
        "wages" => T::source_wages,
        "subsidy" => T::source_subsidy,
        "other_business" => T::source_other_business,
        _ => T::source_other,
    }
}

/// Monthly income as an SVG bar chart (negative months drawn below the axis).
#[component]
fn MonthChart(months: Vec<i64>) -> impl IntoView {
    let lang = use_lang();
    let max = months.iter().map(|m| m.abs()).max().unwrap_or(0).max(1);
    let (w, h, pad) = (600.0_f64, 220.0_f64, 24.0_f64);
    let bar = (w - 2.0 * pad) / 12.0;
    let scale = (h - 2.0 * pad) / max as f64;
    let base = h - pad;
    view! {
        <svg class="chart" viewBox=format!("0 0 {w} {h}") role="img" aria-labelledby="chart-title">
            <title id="chart-title">{tr(T::income_by_month)}</title>
            <line x1=pad y1=base x2={w - pad} y2=base class="axis"/>
            {months.iter().enumerate().map(|(i, m)| {
                let bh = (m.abs() as f64 * scale).max(if *m != 0 { 1.0 } else { 0.0 });
                let x = pad + i as f64 * bar + bar * 0.15;
                let y = if *m >= 0 { base - bh } else { base };
                let month = i + 1;
                let bw = bar * 0.7;
                let class = if *m >= 0 { "bar" } else { "bar negative" };
                let tx = x + bar * 0.35;
                let ty = h - 6.0;
                view! {
                    <g>
                        <rect x=x y=y width=bw height=bh class=class>
                            <title>{crate::domain::money::Fen::new(*m).to_string()}</title>
                        </rect>
                        <text x=tx y=ty text-anchor="middle" class="tick">
                            {move || crate::i18n::month_name(month, lang.get())}
                        </text>
                    </g>
                }
            }).collect_view()}
            <text x=pad y=14 class="tick">{crate::domain::money::Fen::new(max).to_string()}</text>
        </svg>
    }
}

#[component]
pub fn IncomePage() -> impl IntoView {
    let id = crate::ui::use_id_param();
    let record = Resource::new(id, household_income);
    let lang = use_lang();
    view! {
        <section class="section">
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || record.get().map(|r| match r {
                    Err(e) => view! { <h1>{tr(T::income_title)}</h1><ErrorNotice error=e/> }.into_any(),
                    Ok(rec) => view! {
                        <h1>{tr(T::income_title)} " · " {rec.head_name.clone()}</h1>
                        <p class="muted">{rec.region_path.join(" / ")} " · " {tr(T::income_members)} " " {rec.members} " · " {rec.year}</p>
                        <div class="kpis" data-testid="income-kpis">
                            <div class="kpi"><span>{tr(T::income_year_total)}</span><strong data-testid="income-total"><Money fen=rec.total_fen/></strong></div>
                            <div class="kpi"><span>{tr(T::income_per_capita)}</span><strong>{rec.per_capita_fen.map(|v| view! { <Money fen=v/> })}</strong></div>
                            <div class="kpi"><span>{tr(T::income_baseline)}</span><strong>{rec.baseline_per_capita_fen.map(|v| view! { <Money fen=v/> })}</strong></div>
                            <div class="kpi"><span>{tr(T::income_distance)}</span><strong>{rec.distance_to_line_fen.map(|v| view! { <Money fen=v/> })}</strong> <StatusBadge status=rec.status/></div>
                        </div>
                        <h2>{tr(T::income_by_month)}</h2>
                        <MonthChart months=rec.by_month.clone()/>
                        <h2>{tr(T::income_by_source)}</h2>
                        <table class="table">
                            <tbody>
                                {rec.by_source.iter().map(|(s, v)| {
                                    let s = s.clone();
                                    view! { <tr><td>{move || source_text(&s).t(lang.get())}</td><td class="num"><Money fen=*v/></td></tr> }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <h2>{tr(T::income_recent)}</h2>
                        <table class="table" data-testid="ledger-rows">
                            <tbody>
                                {rec.recent.iter().map(|e| {
                                    let s = e.source_type.clone();
                                    view! {
                                        <tr>
                                            <td>{crate::domain::calendar::date_of(e.occurred_at)}</td>
                                            <td>{move || source_text(&s).t(lang.get())}</td>
                                            <td>{e.note.clone().unwrap_or_default()}</td>
                                            <td class="num"><Money fen=e.amount_fen/></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
