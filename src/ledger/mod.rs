//! 收入台账: the household income record.

pub mod api;
#[cfg(feature = "ssr")]
pub mod post;
#[cfg(feature = "ssr")]
pub mod rollup;
#[cfg(feature = "ssr")]
pub mod server;

use crate::i18n::{tr, use_lang, T};
use crate::ui::meta::PageMeta;
use crate::ui::{ErrorNotice, Money, Pager, StatusBadge};
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

/// What a ledger row rests on, in words.
fn evidence_text(evidence: Option<&str>) -> impl IntoView {
    tr(match evidence {
        Some("provider") => T::evidence_provider,
        Some("transfer") => T::evidence_transfer,
        Some("official") => T::evidence_official,
        _ => T::evidence_none,
    })
}

/// Monthly income as an SVG bar chart (negative months drawn below the axis).
#[component]
pub fn MonthChart(
    months: Vec<i64>,
    #[prop(default = T::income_by_month)] title: T,
) -> impl IntoView {
    let lang = use_lang();
    let max = months.iter().map(|m| m.abs()).max().unwrap_or(0).max(1);
    let (w, h, pad) = (600.0_f64, 220.0_f64, 24.0_f64);
    let bar = (w - 2.0 * pad) / 12.0;
    let scale = (h - 2.0 * pad) / max as f64;
    let base = h - pad;
    view! {
        <svg class="chart" viewBox=format!("0 0 {w} {h}") role="img" aria-labelledby="chart-title">
            <title id="chart-title">{tr(title)}</title>
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
    let record_action = ServerAction::<api::RecordIncome>::new();
    let query = leptos_router::hooks::use_query_map();
    let record = Resource::new(
        move || {
            (
                id(),
                query.with(|q| q.get("after")),
                record_action.version().get(),
            )
        },
        |(id, after, _)| household_income(id, after),
    );
    let session = crate::app::use_session();
    let lang = use_lang();
    view! {
        <section class="section">
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || record.get().map(|r| match r {
                    Err(e) => view! { <PageMeta title=T::income_title description=T::meta_site private=true/><h1>{tr(T::income_title)}</h1><ErrorNotice error=e/> }.into_any(),
                    Ok(rec) => view! {
                        <PageMeta title=T::income_title description=T::meta_site private=true/>
                        <h1>{tr(T::income_title)} " · " {rec.head_name.clone()}</h1>
                        <p class="muted">{rec.region_path.join(" / ")} " · " {tr(T::income_members)} " " {rec.members} " · " {rec.year}</p>
                        <div class="kpis" data-testid="income-kpis">
                            <div class="kpi"><span>{tr(T::income_year_total)}</span><strong data-testid="income-total"><Money fen=rec.total_fen/></strong></div>
                            <div class="kpi"><span>{tr(T::income_verified)}</span><strong data-testid="income-verified"><Money fen=rec.verified_fen/></strong></div>
                            <div class="kpi"><span>{tr(T::income_attested)}</span><strong data-testid="income-attested"><Money fen=rec.attested_fen/></strong></div>
                            <div class="kpi"><span>{tr(T::income_per_capita)}</span><strong>{rec.per_capita_fen.map(|v| view! { <Money fen=v/> })}</strong></div>
                            <div class="kpi"><span>{tr(T::income_baseline)}</span><strong>{rec.baseline_per_capita_fen.map(|v| view! { <Money fen=v/> })}</strong></div>
                            <div class="kpi"><span>{tr(T::file_rolling)}</span><strong data-testid="income-rolling">{rec.rolling_per_capita_fen.map(|v| view! { <Money fen=v/> })}</strong></div>
                            <div class="kpi"><span>{tr(T::income_distance)}</span><strong>{rec.distance_to_line_fen.map(|v| view! { <Money fen=v/> })}</strong> <StatusBadge status=rec.status/></div>
                        </div>
                        <p class="muted">{tr(T::rolling_definition)} " (" {rec.rolling_months} "/12)"</p>
                        {move || view! { <crate::monitoring::MonitoringFile household_id=id()/> }}
                        <h2>{tr(T::income_by_month)}</h2>
                        <MonthChart months=rec.by_month.clone()/>
                        <h2 id="by-source-title">{tr(T::income_by_source)}</h2>
                        <div class="table-wrap" tabindex="0" role="region" aria-labelledby="by-source-title">
                        <table class="table">
                            <thead><tr><th scope="col">{tr(T::income_col_source)}</th><th scope="col" class="num">{tr(T::income_col_amount)}</th></tr></thead>
                            <tbody>
                                {rec.by_source.iter().map(|(s, v)| {
                                    let s = s.clone();
                                    view! { <tr><td>{move || source_text(&s).t(lang.get())}</td><td class="num"><Money fen=*v/></td></tr> }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                        <Transition fallback=|| ()>
                            {move || session.user.get().flatten().filter(|u| matches!(u.role, crate::domain::role::Role::Official | crate::domain::role::Role::Admin)).map(|_| view! {
                                <RecordIncomeForm household_id=id() action=record_action/>
                            })}
                        </Transition>
                        <h2 id="recent-title">{tr(T::income_recent)}</h2>
                        <div class="table-wrap" tabindex="0" role="region" aria-labelledby="recent-title">
                        <table class="table" data-testid="ledger-rows">
                            <thead><tr>
                                <th scope="col">{tr(T::income_col_date)}</th>
                                <th scope="col">{tr(T::income_col_source)}</th>
                                <th scope="col">{tr(T::income_col_note)}</th>
                                <th scope="col">{tr(T::income_col_by)}</th>
                                <th scope="col">{tr(T::income_col_evidence)}</th>
                                <th scope="col" class="num">{tr(T::income_col_amount)}</th>
                            </tr></thead>
                            <tbody>
                                {rec.recent.items.iter().map(|e| {
                                    let s = e.source_type.clone();
                                    view! {
                                        <tr>
                                            <td>{crate::domain::calendar::date_of(e.occurred_at)}</td>
                                            <td>{move || source_text(&s).t(lang.get())}</td>
                                            <td>{e.note.clone().unwrap_or_default()}</td>
                                            <td>{e.recorded_by.clone().unwrap_or_default()}</td>
                                            <td data-testid="ledger-evidence">{evidence_text(e.evidence.as_deref())} " " <span class="muted">{e.evidence_ref.clone().unwrap_or_default()}</span></td>
                                            <td class="num"><Money fen=e.amount_fen/></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                        <Pager key="after" next=rec.recent.next.clone() label=T::ledger_pages first_text=T::ledger_newest next_text=T::ledger_older/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Officials record wages, subsidies and other income (or corrections) for a household.
#[component]
fn RecordIncomeForm(household_id: i64, action: ServerAction<api::RecordIncome>) -> impl IntoView {
    view! {
        <section class="card tools" aria-labelledby="record-income">
            <h2 id="record-income">{tr(T::record_title)}</h2>
            <ActionForm action=action attr:class="form">
                <input type="hidden" name="household_id" value=household_id/>
                <label for="record-amount">{tr(T::record_amount)}</label>
                <input id="record-amount" name="amount" required inputmode="decimal"/>
                <label for="record-source">{tr(T::record_source)}</label>
                <select id="record-source" name="source_type">
                    {["wages", "subsidy", "other_business", "other"].into_iter().map(|s| view! { <option value=s>{tr(source_text(s))}</option> }).collect_view()}
                </select>
                <label for="record-note">{tr(T::record_note)}</label>
                <input id="record-note" name="note" required maxlength="200"/>
                <label class="check"><input type="checkbox" name="confirm" value="true"/> {tr(T::record_confirm)}</label>
                <div class="form-error">{move || action.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
                <p class="added" role="status">{move || matches!(action.value().get(), Some(Ok(_))).then(|| tr(T::saved)())}</p>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>{tr(T::save)}</button>
            </ActionForm>
        </section>
    }
}
