//! 防止返贫监测 pages: the public self-report form (一键报贫) and its status, the officials'
//! queue (日汇总、周核实), a cadre's households, the audit log, and the monitoring part of a
//! household's file.

pub mod api;
#[cfg(feature = "ssr")]
pub mod records;
#[cfg(feature = "ssr")]
pub mod review;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod warning;

use crate::domain::calendar::{date_of, date_time_of};
use crate::domain::monitoring::{
    Category, Conclusion, MeasureKind, ObjectState, Reason, Relation, ReportState, Reporter,
    TaskKind,
};
use crate::domain::region::{RegionCode, RegionLevel};
use crate::i18n::{tr, use_lang, T};
use crate::ui::meta::PageMeta;
use crate::ui::{query_href, ErrorNotice, Money, Pager, StatusBadge};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

pub fn category_text(c: Category) -> T {
    match c {
        Category::Unstable => T::cat_unstable,
        Category::Marginal => T::cat_marginal,
        Category::Sudden => T::cat_sudden,
    }
}

pub fn reason_text(r: Reason) -> T {
    match r {
        Reason::Illness => T::reason_illness,
        Reason::Disaster => T::reason_disaster,
        Reason::JobLoss => T::reason_job_loss,
        Reason::Other => T::reason_other,
    }
}

fn reporter_text(r: Reporter) -> T {
    match r {
        Reporter::SelfReport => T::reporter_self,
        Reporter::Neighbour => T::reporter_neighbour,
        Reporter::Cadre => T::reporter_cadre,
    }
}

pub fn report_state_text(s: ReportState) -> T {
    match s {
        ReportState::Submitted => T::rstate_submitted,
        ReportState::Notice => T::rstate_notice,
        ReportState::Identified => T::rstate_identified,
        ReportState::Dismissed => T::rstate_dismissed,
    }
}

fn event_text(e: &str) -> T {
    match e {
        "identified" => T::event_identified,
        "eliminated" => T::event_eliminated,
        "reopened" => T::event_reopened,
        "category" => T::event_category,
        _ => T::event_other,
    }
}

/// The outcome lines under a form of an action answering `()`: the error, or "saved".
macro_rules! outcome {
    ($action:expr) => {{
        let action = $action;
        view! {
            <div class="form-error">{move || action.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
            <p class="added" role="status">{move || matches!(action.value().get(), Some(Ok(()))).then(|| tr(T::saved)())}</p>
        }
    }};
}

/// `/report`: 一键报贫. Choose the village, say what happened, get a receipt number; or type a
/// receipt number to see where a report stands.
#[component]
pub fn ReportPage() -> impl IntoView {
    let query = use_query_map();
    let region = move || query.with(|q| q.get("region"));
    let receipt = move || {
        query
            .with(|q| q.get("receipt"))
            .filter(|r| !r.trim().is_empty())
    };
    let submit = ServerAction::<api::SubmitReport>::new();
    let status = Resource::new(receipt, |r| async move {
        match r {
            Some(r) => Some(api::report_status(r).await),
            None => None,
        }
    });
    let lang = use_lang();
    view! {
        <section class="section narrow">
            <PageMeta title=T::report_title description=T::meta_site private=true/>
            <h1>{tr(T::report_title)}</h1>
            <p class="lede">{tr(T::report_intro)}</p>
            <section class="card" aria-labelledby="report-status-title">
                <h2 id="report-status-title">{tr(T::report_status_title)}</h2>
                <form method="get" action="/report" class="form inline-fields">
                    <label for="receipt">{tr(T::report_receipt)}</label>
                    <input id="receipt" name="receipt" maxlength="20" autocomplete="off" value=move || receipt().unwrap_or_default()/>
                    <button type="submit" class="button">{tr(T::report_check)}</button>
                </form>
                <Suspense fallback=|| ()>
                    {move || status.get().flatten().map(|r| match r {
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        Ok(s) => view! {
                            <p data-testid="report-status">
                                <strong>{s.receipt.clone()}</strong> " · " {s.village.clone()} " · "
                                {date_of(s.created_at)} " · "
                                <span class="badge">{move || report_state_text(s.state).t(lang.get())}</span>
                                {s.notice_until.map(|u| view! { " · " {tr(T::report_notice_until)} " " {date_of(u)} })}
                            </p>
                        }.into_any(),
                    })}
                </Suspense>
            </section>
            <section class="card" aria-labelledby="report-form-title">
                <h2 id="report-form-title">{tr(T::report_form_title)}</h2>
                {move || view! { <crate::delivery::RegionPicker region=region() action="/report" depth=5/> }}
                {move || {
                    let village = region().and_then(|r| RegionCode::parse(&r).ok()).filter(|r| r.level() == RegionLevel::Village);
                    match village {
                        None => view! { <p class="muted">{tr(T::report_choose_village)}</p> }.into_any(),
                        Some(v) => view! { <ReportForm village=v.to_string() action=submit/> }.into_any(),
                    }
                }}
            </section>
        </section>
    }
}

#[component]
fn ReportForm(village: String, action: ServerAction<api::SubmitReport>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <ActionForm action=action attr:class="form" attr:data-testid="report-form">
            <input type="hidden" name="village" value=village/>
            <label for="report-reporter">{tr(T::report_reporter)}</label>
            <select id="report-reporter" name="reporter">
                {Reporter::ALL.iter().map(|r| view! { <option value=r.as_str()>{move || reporter_text(*r).t(lang.get())}</option> }).collect_view()}
            </select>
            <label for="report-name">{tr(T::report_name)}</label>
            <input id="report-name" name="name" required maxlength="40" autocomplete="name"/>
            <label for="report-phone">{tr(T::report_phone)}</label>
            <input id="report-phone" name="phone" required maxlength="24" inputmode="tel" autocomplete="tel"/>
            <label for="report-reason">{tr(T::report_reason)}</label>
            <select id="report-reason" name="reason">
                {Reason::ALL.iter().map(|r| view! { <option value=r.as_str()>{move || reason_text(*r).t(lang.get())}</option> }).collect_view()}
            </select>
            <label for="report-detail">{tr(T::report_detail)}</label>
            <textarea id="report-detail" name="detail" required rows="4" maxlength="1000"></textarea>
            <div class="form-error">{move || action.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
            {move || action.value().get().and_then(Result::ok).map(|receipt| view! {
                <p class="added" role="status" data-testid="report-receipt">
                    {tr(T::report_filed)} " " <strong>{receipt.clone()}</strong> " "
                    <a href=format!("/report?receipt={receipt}")>{tr(T::report_check)}</a>
                </p>
            })}
            <button type="submit" class="button primary" disabled=move || action.pending().get()>{tr(T::report_submit)}</button>
        </ActionForm>
    }
}

/// The state tabs of the queue.
const QUEUE_TABS: [(&str, T); 5] = [
    ("open", T::queue_open),
    ("submitted", T::rstate_submitted),
    ("notice", T::rstate_notice),
    ("identified", T::rstate_identified),
    ("dismissed", T::rstate_dismissed),
];

/// `/monitoring`: the region's self-reports for officials, with the day's and week's new
/// ones, and the steps each report is ready for.
#[component]
pub fn QueuePage() -> impl IntoView {
    let query = use_query_map();
    let verify = ServerAction::<api::VerifyReport>::new();
    let identify = ServerAction::<api::IdentifyReport>::new();
    let dismiss = ServerAction::<api::DismissReport>::new();
    let data = Resource::new(
        move || {
            (
                query.with(|q| (q.get("region"), q.get("state"), q.get("after"))),
                verify.version().get() + identify.version().get() + dismiss.version().get(),
            )
        },
        |((region, state, after), _)| api::report_queue(region, state, after),
    );
    let lang = use_lang();
    view! {
        <section class="section">
            <PageMeta title=T::queue_title description=T::meta_site private=true/>
            <h1>{tr(T::queue_title)}</h1>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(q) => {
                        let region = q.region_code.clone();
                        view! {
                            <p class="summary" data-testid="queue-summary">
                                <strong>{q.region.clone()}</strong> " · " {tr(T::queue_new_today)} " " <strong>{q.new_today}</strong>
                                " · " {tr(T::queue_new_week)} " " <strong>{q.new_this_week}</strong>
                            </p>
                            <nav class="tabs" aria-label=move || T::queue_title.t(lang.get())>
                                {QUEUE_TABS.iter().map(|(key, label)| {
                                    let n: i64 = q.counts.iter().filter(|(s, _)| *key == "open" && matches!(s, ReportState::Submitted | ReportState::Notice) || s.as_str() == *key).map(|(_, n)| *n).sum();
                                    let href = query_href("/monitoring", &[("region".into(), region.clone()), ("state".into(), key.to_string())]);
                                    let current = q.state == *key;
                                    view! { <a href=href aria-current=current.then_some("page")>{tr(*label)} " (" {n} ")"</a> }
                                }).collect_view()}
                            </nav>
                            {q.items.items.is_empty().then(|| view! { <p class="muted">{tr(T::queue_empty)}</p> })}
                            <ol class="report-list">
                                {q.items.items.iter().cloned().map(|item| view! {
                                    <QueueCard item=item may_verify=q.may_verify may_decide=q.may_decide cadres=q.cadres.clone() verify=verify identify=identify dismiss=dismiss/>
                                }).collect_view()}
                            </ol>
                            <Pager key="after" next=q.items.next.clone() label=T::queue_title first_text=T::pages_first next_text=T::pages_next/>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn QueueCard(
    item: api::QueueItem,
    may_verify: bool,
    may_decide: bool,
    cadres: Vec<api::CadreOption>,
    verify: ServerAction<api::VerifyReport>,
    identify: ServerAction<api::IdentifyReport>,
    dismiss: ServerAction<api::DismissReport>,
) -> impl IntoView {
    let lang = use_lang();
    let id = item.id;
    let st = item.state;
    let open = matches!(st, ReportState::Submitted | ReportState::Notice);
    let fid = move |s: &str| format!("r{id}-{s}");
    view! {
        <li class="card report" data-testid="queue-item" data-receipt=item.receipt.clone()>
            <h2 class="report-head">
                <span class="badge">{move || report_state_text(st).t(lang.get())}</span> " "
                {item.village.clone()} " · " {move || reason_text(item.reason).t(lang.get())}
            </h2>
            <p class="muted">
                {item.receipt.clone()} " · " {date_time_of(item.created_at)} " · "
                {move || reporter_text(item.reporter).t(lang.get())} " · " {item.name.clone()} " · " {item.phone.clone()}
            </p>
            <p class="report-detail">{item.detail.clone()}</p>
            {item.household_id.map(|h| view! {
                <p>{tr(T::queue_household)} " " <A href=format!("/households/{h}")>{item.household.clone().unwrap_or_default()}</A></p>
            })}
            {item.verification.clone().map(|v| view! { <p><strong>{tr(T::queue_verification)}</strong> " " {v}</p> })}
            {item.decision_note.clone().filter(|_| st == ReportState::Dismissed).map(|v| view! { <p><strong>{tr(T::queue_dismiss_reason)}</strong> " " {v}</p> })}
            {item.notice_until.filter(|_| st == ReportState::Notice).map(|u| view! {
                <p class="muted">{tr(T::report_notice_until)} " " {date_of(u)}</p>
            })}
            {(st == ReportState::Submitted && may_verify).then(|| view! {
                <details class="step">
                    <summary>{tr(T::queue_verify)}</summary>
                    <ActionForm action=verify attr:class="form">
                        <input type="hidden" name="report_id" value=id/>
                        <label for=fid("household")>{tr(T::queue_household)}</label>
                        <select id=fid("household") name="household_id" required>
                            <option value="">{tr(T::picker_choose)}</option>
                            {item.candidates.iter().map(|(hid, name)| view! { <option value=*hid>{name.clone()}</option> }).collect_view()}
                        </select>
                        <label for=fid("verification")>{tr(T::queue_verification_hint)}</label>
                        <textarea id=fid("verification") name="verification" required rows="3" maxlength="500"></textarea>
                        <label class="check"><input type="checkbox" name="consent" value="true" required/> {tr(T::queue_consent)}</label>
                        {outcome!(verify)}
                        <button type="submit" class="button primary">{tr(T::queue_verify)}</button>
                    </ActionForm>
                </details>
            })}
            {(st == ReportState::Notice && may_decide && item.notice_over).then(|| view! {
                <details class="step">
                    <summary>{tr(T::queue_identify)}</summary>
                    <ActionForm action=identify attr:class="form">
                        <input type="hidden" name="report_id" value=id/>
                        <label for=fid("category")>{tr(T::file_category)}</label>
                        <select id=fid("category") name="category">
                            {Category::ALL.iter().map(|c| view! { <option value=c.as_str()>{move || category_text(*c).t(lang.get())}</option> }).collect_view()}
                        </select>
                        <label for=fid("cadre")>{tr(T::file_cadre)}</label>
                        <select id=fid("cadre") name="cadre_id" required>
                            <option value="">{tr(T::picker_choose)}</option>
                            {cadres.iter().map(|c| view! { <option value=c.id>{c.name.clone()}</option> }).collect_view()}
                        </select>
                        {outcome!(identify)}
                        <button type="submit" class="button primary">{tr(T::queue_identify)}</button>
                    </ActionForm>
                </details>
            })}
            {(open && may_decide).then(|| view! {
                <details class="step">
                    <summary>{tr(T::queue_dismiss)}</summary>
                    <ActionForm action=dismiss attr:class="form">
                        <input type="hidden" name="report_id" value=id/>
                        <label for=fid("reason")>{tr(T::queue_dismiss_reason)}</label>
                        <input id=fid("reason") name="reason" required maxlength="500"/>
                        {outcome!(dismiss)}
                        <button type="submit" class="button">{tr(T::queue_dismiss)}</button>
                    </ActionForm>
                </details>
            })}
        </li>
    }
}

/// `/cadre`: a cadre's paired households, most at risk first, with the last visit.
#[component]
pub fn CadrePage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || query.with(|q| q.get("after")),
        api::cadre_households,
    );
    let lang = use_lang();
    view! {
        <section class="section">
            <PageMeta title=T::cadre_title description=T::meta_site private=true/>
            <h1>{tr(T::cadre_title)}</h1>
            <p class="muted">{tr(T::rolling_definition)}</p>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(page) => view! {
                        <div class="table-wrap" tabindex="0" role="region" aria-labelledby="cadre-caption">
                            <table class="table" data-testid="cadre-households">
                                <caption id="cadre-caption" class="visually-hidden">{tr(T::cadre_title)}</caption>
                                <thead><tr>
                                    <th scope="col">{tr(T::households_col_name)}</th>
                                    <th scope="col">{tr(T::households_col_village)}</th>
                                    <th scope="col" class="num">{tr(T::households_col_income)}</th>
                                    <th scope="col">{tr(T::households_col_status)}</th>
                                    <th scope="col">{tr(T::file_category)}</th>
                                    <th scope="col">{tr(T::cadre_last_visit)}</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|h| view! {
                                        <tr>
                                            <td><A href=format!("/households/{}#file", h.id)>{h.head_name}</A></td>
                                            <td>{h.village}</td>
                                            <td class="num">{h.rolling_per_capita_fen.map(|f| view! { <Money fen=f/> })}</td>
                                            <td><StatusBadge status=h.status/></td>
                                            <td>{h.category.map(|c| move || category_text(c).t(lang.get()))}</td>
                                            <td>
                                                {h.last_visit.unwrap_or_else(|| "—".into())}
                                                {h.visit_overdue.then(|| view! { " " <span class="badge warn">{tr(T::visit_overdue)}</span> })}
                                                {(h.open_tasks > 0).then(|| view! { " " <span class="badge warn">{tr(T::file_tasks)} " " {h.open_tasks}</span> })}
                                                {h.review_due.then(|| view! { " " <span class="badge">{tr(T::review_due)}</span> })}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <Pager key="after" next=page.next label=T::cadre_title first_text=T::pages_first next_text=T::pages_next/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// `/audit`: who viewed or changed which household's file.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || query.with(|q| (q.get("region"), q.get("after"))),
        |(region, after)| api::audit_log(region, after),
    );
    view! {
        <section class="section">
            <PageMeta title=T::audit_title description=T::meta_site private=true/>
            <h1>{tr(T::audit_title)}</h1>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(page) => view! {
                        <div class="table-wrap" tabindex="0" role="region" aria-labelledby="audit-caption">
                            <table class="table" data-testid="audit-rows">
                                <caption id="audit-caption" class="visually-hidden">{tr(T::audit_title)}</caption>
                                <thead><tr>
                                    <th scope="col">{tr(T::income_col_date)}</th>
                                    <th scope="col">{tr(T::audit_who)}</th>
                                    <th scope="col">{tr(T::audit_what)}</th>
                                    <th scope="col">{tr(T::households_col_name)}</th>
                                    <th scope="col">{tr(T::income_col_note)}</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|a| view! {
                                        <tr>
                                            <td>{date_time_of(a.at)}</td>
                                            <td>{a.user.unwrap_or_default()}</td>
                                            <td>{a.action}</td>
                                            <td>{a.household_id.map(|h| view! { <A href=format!("/households/{h}")>{a.household.clone().unwrap_or_default()}</A> })}</td>
                                            <td>{a.detail.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <Pager key="after" next=page.next label=T::audit_title first_text=T::pages_first next_text=T::pages_next/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The monitoring part of a household's file, shown on its income page: category, cadres,
/// the last six months against the line, the steps the viewer may take, history and visits.
#[component]
pub fn MonitoringFile(household_id: i64) -> impl IntoView {
    let query = use_query_map();
    let visit = ServerAction::<api::LogVisit>::new();
    let exit = ServerAction::<api::EliminateRisk>::new();
    let reopen = ServerAction::<api::ReopenRisk>::new();
    let add_member = ServerAction::<api::AddMember>::new();
    let remove_member = ServerAction::<api::RemoveMember>::new();
    let add_measure = ServerAction::<api::AddMeasure>::new();
    let pair = ServerAction::<api::PairCadre>::new();
    let review = ServerAction::<api::ReviewEffect>::new();
    let recategorise = ServerAction::<api::ChangeCategory>::new();
    let data = Resource::new(
        move || {
            (
                query.with(|q| {
                    (
                        q.get("events_after"),
                        q.get("visits_after"),
                        q.get("reviews_after"),
                    )
                }),
                visit.version().get()
                    + exit.version().get()
                    + reopen.version().get()
                    + add_member.version().get()
                    + remove_member.version().get()
                    + add_measure.version().get()
                    + pair.version().get()
                    + review.version().get()
                    + recategorise.version().get(),
            )
        },
        move |((events_after, visits_after, reviews_after), _)| {
            api::household_file(household_id, events_after, visits_after, reviews_after)
        },
    );
    let lang = use_lang();
    view! {
        <section class="card" id="file" aria-labelledby="file-title">
            <h2 id="file-title">{tr(T::file_title)}</h2>
            <Transition fallback=|| ()>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(f) => view! {
                        <dl class="facts" data-testid="file-facts">
                            <dt>{tr(T::file_object)}</dt>
                            <dd data-testid="file-object">{match f.object.clone() {
                                None => view! { {tr(T::file_not_object)} }.into_any(),
                                Some(o) => view! {
                                    {move || category_text(o.category).t(lang.get())} " · "
                                    {move || (if o.state == ObjectState::Monitored { T::object_monitored } else { T::object_eliminated }).t(lang.get())}
                                    " · " {tr(T::file_since)} " " {date_of(o.identified_at)}
                                    {o.eliminated_at.map(|t| view! { " · " {tr(T::event_eliminated)} " " {date_of(t)} })}
                                }.into_any(),
                            }}</dd>
                            <dt>{tr(T::file_cadre)}</dt>
                            <dd>{if f.cadres.is_empty() { "—".to_owned() } else { f.cadres.join("、") }}</dd>
                            <dt>{tr(T::file_rolling)}</dt>
                            <dd>{f.rolling_per_capita_fen.map(|v| view! { <Money fen=v/> })} " " <StatusBadge status=f.status/></dd>
                            <dt>{tr(T::file_months_above)}</dt>
                            <dd data-testid="months-above">{f.months_above.iter().map(|a| if *a { "●" } else { "○" }).collect::<String>()}
                                " " <span class="muted">{tr(T::file_months_above_hint)}</span></dd>
                            {f.visit_overdue.then(|| view! { <dt>{tr(T::cadre_last_visit)}</dt><dd><span class="badge warn">{tr(T::visit_overdue)}</span></dd> })}
                        </dl>
                        {(f.may_visit).then(|| view! { <VisitForm household_id=household_id action=visit/> })}
                        {(f.may_decide && f.object.as_ref().is_some_and(|o| o.state == ObjectState::Monitored)).then(|| view! {
                            <details class="step">
                                <summary>{tr(T::file_exit)}</summary>
                                {(!f.may_exit).then(|| view! { <p class="muted">{tr(T::file_exit_hint)}</p> })}
                                <ActionForm action=exit attr:class="form">
                                    <input type="hidden" name="household_id" value=household_id/>
                                    <label for="exit-note">{tr(T::record_note)}</label>
                                    <input id="exit-note" name="note" required maxlength="500"/>
                                    {outcome!(exit)}
                                    <button type="submit" class="button">{tr(T::file_exit)}</button>
                                </ActionForm>
                            </details>
                        })}
                        {f.object.clone().filter(|o| f.may_decide && o.state == ObjectState::Monitored).map(|o| view! {
                            <details class="step">
                                <summary>{tr(T::file_change_category)}</summary>
                                <ActionForm action=recategorise attr:class="form">
                                    <input type="hidden" name="household_id" value=household_id/>
                                    <label for="recat-category">{tr(T::file_category)}</label>
                                    <select id="recat-category" name="category" required>
                                        <option value="">{tr(T::picker_choose)}</option>
                                        {Category::ALL.iter().filter(|c| **c != o.category).map(|c| {
                                            let c = *c;
                                            view! { <option value=c.as_str()>{move || category_text(c).t(lang.get())}</option> }
                                        }).collect_view()}
                                    </select>
                                    <label for="recat-note">{tr(T::record_note)}</label>
                                    <input id="recat-note" name="note" required maxlength="500"/>
                                    {outcome!(recategorise)}
                                    <button type="submit" class="button">{tr(T::file_change_category)}</button>
                                </ActionForm>
                            </details>
                        })}
                        {(f.may_decide && f.object.as_ref().is_some_and(|o| o.state == ObjectState::Eliminated)).then(|| view! {
                            <details class="step">
                                <summary>{tr(T::file_reopen)}</summary>
                                <ActionForm action=reopen attr:class="form">
                                    <input type="hidden" name="household_id" value=household_id/>
                                    <label for="reopen-note">{tr(T::record_note)}</label>
                                    <input id="reopen-note" name="note" required maxlength="500"/>
                                    {outcome!(reopen)}
                                    <button type="submit" class="button">{tr(T::file_reopen)}</button>
                                </ActionForm>
                            </details>
                        })}
                        <FileRecords household_id=household_id f=f.clone() add_member=add_member remove_member=remove_member add_measure=add_measure pair=pair/>
                        <Reviews f=f.clone() household_id=household_id action=review/>
                        <h3 id="visits-title">{tr(T::file_visits)}</h3>
                        {f.visits.items.is_empty().then(|| view! { <p class="muted">"—"</p> })}
                        <ul class="visit-list" data-testid="visits" aria-labelledby="visits-title">
                            {f.visits.items.iter().map(|v| view! {
                                <li>
                                    <strong>{v.visited_on.clone()}</strong> " · " {v.cadre.clone()}
                                    <p>{tr(T::visit_seen)} ": " {v.seen.clone()}</p>
                                    <p>{tr(T::visit_needs)} ": " {v.needs.clone()}</p>
                                    <p>{tr(T::visit_next)} ": " {v.next_steps.clone()}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                        <Pager key="visits_after" next=f.visits.next.clone() label=T::file_visits first_text=T::pages_first next_text=T::pages_next/>
                        <h3 id="events-title">{tr(T::file_history)}</h3>
                        {f.events.items.is_empty().then(|| view! { <p class="muted">"—"</p> })}
                        <ul class="event-list" aria-labelledby="events-title">
                            {f.events.items.iter().map(|e| {
                                let what = e.event.clone();
                                let cat = e.category;
                                view! {
                                    <li>
                                        {date_time_of(e.at)} " · " {move || event_text(&what).t(lang.get())}
                                        {cat.map(|c| view! { " · " {move || category_text(c).t(lang.get())} })}
                                        {e.by.clone().map(|b| view! { " · " {b} })}
                                        {e.note.clone().map(|n| view! { " · " {n} })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <Pager key="events_after" next=f.events.next.clone() label=T::file_history first_text=T::pages_first next_text=T::pages_next/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

fn conclusion_text(c: Conclusion) -> T {
    match c {
        Conclusion::Improving => T::review_improving,
        Conclusion::Stable => T::review_stable,
        Conclusion::AtRisk => T::review_at_risk,
    }
}

/// 季度帮扶成效评估: the reviews of the last quarters, and this quarter's form while it is due.
#[component]
fn Reviews(
    f: api::FileView,
    household_id: i64,
    action: ServerAction<api::ReviewEffect>,
) -> impl IntoView {
    let lang = use_lang();
    let reviews = f.reviews.items.clone();
    let next = f.reviews.next.clone();
    // A household never under monitoring has no reviews to show.
    let shown = f.object.is_some() || !reviews.is_empty();
    shown.then(|| view! {
        <h3 id="reviews-title">{tr(T::review_title)}</h3>
        {reviews.is_empty().then(|| view! { <p class="muted">"—"</p> })}
        <ul class="visit-list" data-testid="reviews" aria-labelledby="reviews-title">
            {reviews.into_iter().map(|r| {
                let c = r.conclusion;
                view! {
                    <li>
                        <strong>{r.quarter.clone()}</strong> " · " {move || conclusion_text(c).t(lang.get())} " · " {r.reviewer.clone()}
                        <p>
                            {tr(T::file_rolling)} ": " {r.rolling_per_capita_fen.map(|v| view! { <Money fen=v/> })}
                            {r.change_fen.map(|d| view! {
                                " (" {tr(T::review_change)} " " {if d >= 0 { "+" } else { "" }} <Money fen=d/> ")"
                            })}
                            " · " {move || (if r.measures_effective { T::review_effective_yes } else { T::review_effective_no }).t(lang.get())}
                        </p>
                        <p>{tr(T::review_findings)} ": " {r.findings.clone()}</p>
                        <p>{tr(T::review_next)} ": " {r.next_steps.clone()}</p>
                    </li>
                }
            }).collect_view()}
        </ul>
        <Pager key="reviews_after" next=next label=T::review_title first_text=T::pages_first next_text=T::pages_next/>
        {f.review_due.then(|| view! {
            <details class="step">
                <summary>{tr(T::review_do)} " (" {f.quarter.clone()} ")"</summary>
                <ActionForm action=action attr:class="form" attr:data-testid="review-form">
                    <input type="hidden" name="household_id" value=household_id/>
                    <label for="review-conclusion">{tr(T::review_conclusion)}</label>
                    <select id="review-conclusion" name="conclusion" required>
                        <option value="">{tr(T::picker_choose)}</option>
                        {Conclusion::ALL.iter().map(|c| {
                            let c = *c;
                            view! { <option value=c.as_str()>{move || conclusion_text(c).t(lang.get())}</option> }
                        }).collect_view()}
                    </select>
                    <label class="check">
                        <input type="checkbox" name="measures_effective" value="1"/>
                        " " {tr(T::review_effective_yes)}
                    </label>
                    <label for="review-findings">{tr(T::review_findings)}</label>
                    <textarea id="review-findings" name="findings" required rows="2" maxlength="500"></textarea>
                    <label for="review-next">{tr(T::review_next)}</label>
                    <textarea id="review-next" name="next_steps" required rows="2" maxlength="500"></textarea>
                    <p class="muted">{tr(T::review_hint)}</p>
                    {outcome!(action)}
                    <button type="submit" class="button primary">{tr(T::review_do)}</button>
                </ActionForm>
            </details>
        })}
    })
}

#[component]
fn VisitForm(household_id: i64, action: ServerAction<api::LogVisit>) -> impl IntoView {
    view! {
        <details class="step" open>
            <summary>{tr(T::visit_log)}</summary>
            <ActionForm action=action attr:class="form" attr:data-testid="visit-form">
                <input type="hidden" name="household_id" value=household_id/>
                <label for="visit-date">{tr(T::visit_date)}</label>
                <input id="visit-date" name="visited_on" type="date" required/>
                <label for="visit-seen">{tr(T::visit_seen)}</label>
                <textarea id="visit-seen" name="seen" required rows="2" maxlength="500"></textarea>
                <label for="visit-needs">{tr(T::visit_needs)}</label>
                <textarea id="visit-needs" name="needs" required rows="2" maxlength="500"></textarea>
                <label for="visit-next">{tr(T::visit_next)}</label>
                <textarea id="visit-next" name="next_steps" required rows="2" maxlength="500"></textarea>
                {outcome!(action)}
                <button type="submit" class="button primary">{tr(T::visit_log)}</button>
            </ActionForm>
        </details>
    }
}

pub fn relation_text(r: Relation) -> T {
    match r {
        Relation::Head => T::rel_head,
        Relation::Spouse => T::rel_spouse,
        Relation::Child => T::rel_child,
        Relation::Parent => T::rel_parent,
        Relation::Grandchild => T::rel_grandchild,
        Relation::Other => T::rel_other,
    }
}

pub fn measure_text(m: MeasureKind) -> T {
    match m {
        MeasureKind::Industry => T::measure_industry,
        MeasureKind::Employment => T::measure_employment,
        MeasureKind::Social => T::measure_social,
        MeasureKind::Dibao => T::measure_dibao,
        MeasureKind::Tekun => T::measure_tekun,
    }
}

/// The words for a benefit link's kind (利益联结方式), when it is one of the known kinds.
pub fn link_type_text(kind: &str) -> Option<T> {
    Some(match kind {
        "order_purchase" => T::link_order_purchase,
        "guaranteed_purchase" => T::link_guaranteed_purchase,
        "employment" => T::link_employment,
        "dividend" => T::link_dividend,
        "land_transfer" => T::link_land_transfer,
        _ => return None,
    })
}

pub fn task_text(k: TaskKind) -> T {
    match k {
        TaskKind::NearLine => T::task_near_line,
        TaskKind::Drop => T::task_drop,
        TaskKind::Stalled => T::task_stalled,
    }
}

/// Members, measures, tasks, benefit links and the village's 1+1 organisations of a file, with
/// the forms its editors use.
#[component]
fn FileRecords(
    household_id: i64,
    f: api::FileView,
    add_member: ServerAction<api::AddMember>,
    remove_member: ServerAction<api::RemoveMember>,
    add_measure: ServerAction<api::AddMeasure>,
    pair: ServerAction<api::PairCadre>,
) -> impl IntoView {
    let lang = use_lang();
    let may_edit = f.may_edit;
    view! {
        {(!f.tasks.is_empty()).then(|| view! {
            <h3 id="tasks-title">{tr(T::file_tasks)}</h3>
            <ul class="event-list" data-testid="tasks" aria-labelledby="tasks-title">
                {f.tasks.iter().map(|t| { let k = t.kind; view! {
                    <li><span class="badge warn">{move || task_text(k).t(lang.get())}</span> " " {date_of(t.created_at)}</li>
                }}).collect_view()}
            </ul>
        })}
        <h3 id="members-title">{tr(T::file_members)}</h3>
        {f.members.is_empty().then(|| view! { <p class="muted" data-testid="no-members">"—"</p> })}
        {(!f.members.is_empty()).then(|| view! {
        <div class="table-wrap" tabindex="0" role="region" aria-labelledby="members-title">
            <table class="table" data-testid="members">
                <thead><tr>
                    <th scope="col">{tr(T::member_name)}</th>
                    <th scope="col">{tr(T::member_relation)}</th>
                    <th scope="col">{tr(T::member_id_number)}</th>
                    <th scope="col">{tr(T::report_phone)}</th>
                    {may_edit.then(|| view! { <th scope="col"><span class="visually-hidden">{tr(T::member_remove)}</span></th> })}
                </tr></thead>
                <tbody>
                    {f.members.iter().map(|m| { let r = m.relation; let id = m.id; view! {
                        <tr>
                            <td>{m.name.clone()}</td>
                            <td>{move || relation_text(r).t(lang.get())}</td>
                            <td>{m.id_number.clone().unwrap_or_default()}</td>
                            <td>{m.phone.clone().unwrap_or_default()}</td>
                            {may_edit.then(|| view! { <td>
                                <ActionForm action=remove_member attr:class="inline-form">
                                    <input type="hidden" name="member_id" value=id/>
                                    <button type="submit" class="link-button">{tr(T::member_remove)}</button>
                                </ActionForm>
                            </td> })}
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        </div>
        })}
        {may_edit.then(|| view! {
            <details class="step">
                <summary>{tr(T::member_add)}</summary>
                <ActionForm action=add_member attr:class="form">
                    <input type="hidden" name="household_id" value=household_id/>
                    <label for="member-name">{tr(T::member_name)}</label>
                    <input id="member-name" name="name" required maxlength="40"/>
                    <label for="member-relation">{tr(T::member_relation)}</label>
                    <select id="member-relation" name="relation">
                        {Relation::ALL.iter().map(|r| view! { <option value=r.as_str()>{move || relation_text(*r).t(lang.get())}</option> }).collect_view()}
                    </select>
                    <label for="member-id">{tr(T::member_id_number)}</label>
                    <input id="member-id" name="id_number" maxlength="18" autocomplete="off"/>
                    <label for="member-phone">{tr(T::report_phone)}</label>
                    <input id="member-phone" name="phone" maxlength="24" inputmode="tel"/>
                    {outcome!(add_member)}
                    <button type="submit" class="button">{tr(T::member_add)}</button>
                </ActionForm>
            </details>
        })}
        <h3 id="measures-title">{tr(T::file_measures)}</h3>
        {f.measures.is_empty().then(|| view! { <p class="muted">"—"</p> })}
        <ul class="event-list" data-testid="measures" aria-labelledby="measures-title">
            {f.measures.iter().map(|m| { let k = m.kind; view! {
                <li>
                    <strong>{move || measure_text(k).t(lang.get())}</strong> " · " {m.detail.clone()} " · "
                    {m.starts_on.clone()}
                    {m.ends_on.clone().map(|e| view! { " → " {e} " (" {tr(T::measure_extended)} ")" })}
                </li>
            }}).collect_view()}
        </ul>
        {may_edit.then(|| view! {
            <details class="step">
                <summary>{tr(T::measure_add)}</summary>
                <ActionForm action=add_measure attr:class="form">
                    <input type="hidden" name="household_id" value=household_id/>
                    <label for="measure-kind">{tr(T::measure_kind)}</label>
                    <select id="measure-kind" name="kind">
                        {MeasureKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{move || measure_text(*k).t(lang.get())}</option> }).collect_view()}
                    </select>
                    <label for="measure-detail">{tr(T::measure_detail)}</label>
                    <input id="measure-detail" name="detail" required maxlength="500"/>
                    <label for="measure-start">{tr(T::measure_starts)}</label>
                    <input id="measure-start" name="starts_on" type="date" required/>
                    <label for="measure-end">{tr(T::measure_ends)}</label>
                    <input id="measure-end" name="ends_on" type="date"/>
                    {outcome!(add_measure)}
                    <button type="submit" class="button">{tr(T::measure_add)}</button>
                </ActionForm>
            </details>
        })}
        <h3 id="links-title">{tr(T::file_links)}</h3>
        {f.links.is_empty().then(|| view! { <p class="muted">"—"</p> })}
        <ul class="event-list" data-testid="links" aria-labelledby="links-title">
            {f.links.iter().map(|l| { let unpaid = l.declared_fen.is_some() && l.paid_fen <= 0; view! {
                <li>
                    {l.organisation.clone()} " · " {
                        let (kind, lang) = (l.link_type.clone(), use_lang());
                        move || link_type_text(&kind).map_or_else(|| kind.clone(), |t| t.t(lang.get()).to_owned())
                    } " · "
                    {tr(T::link_declared)} " " {l.declared_fen.map(|d| view! { <Money fen=d/> })}
                    " · " {tr(T::link_paid)} " " <Money fen=l.paid_fen/>
                    {unpaid.then(|| view! { " " <span class="badge warn">{tr(T::link_unpaid)}</span> })}
                </li>
            }}).collect_view()}
        </ul>
        <h3 id="pairings-title">{tr(T::file_org_pairings)}</h3>
        {f.org_pairings.is_empty().then(|| view! { <p class="muted">"—"</p> })}
        <ul class="event-list" aria-labelledby="pairings-title">
            {f.org_pairings.clone().into_iter().map(|p| view! {
                <li><A href=format!("/organisations/{}", p.organisation_id)>{p.organisation.clone()}</A> " · " {p.since_year} " · " {p.projects.clone()} " · " {tr(T::pairing_bought)} " " <Money fen=p.bought_fen/></li>
            }).collect_view()}
        </ul>
        {(f.may_decide && !f.cadre_options.is_empty()).then(|| view! {
            <details class="step">
                <summary>{tr(T::pair_title)}</summary>
                <ActionForm action=pair attr:class="form">
                    <input type="hidden" name="household_id" value=household_id/>
                    <label for="pair-cadre">{tr(T::file_cadre)}</label>
                    <select id="pair-cadre" name="cadre_id">
                        {f.cadre_options.iter().map(|c| view! { <option value=c.id>{c.name.clone()}</option> }).collect_view()}
                    </select>
                    <label class="check"><input type="checkbox" name="unpair" value="true"/> {tr(T::pair_end)}</label>
                    {outcome!(pair)}
                    <button type="submit" class="button">{tr(T::pair_save)}</button>
                </ActionForm>
            </details>
        })}
    }
}

/// `/import`: officials upload the household registry as CSV; the upload shows its progress and
/// then what was imported and which lines were refused.
#[component]
pub fn ImportPage() -> impl IntoView {
    let query = use_query_map();
    let result = Resource::new(
        move || {
            query
                .with(|q| q.get("id"))
                .and_then(|i| i.parse::<i64>().ok())
        },
        |id| async move {
            match id {
                Some(id) => Some(crate::official::api::import_result(id).await),
                None => None,
            }
        },
    );
    let error = move || {
        query
            .with(|q| q.get("error"))
            .and_then(|c| crate::error::ErrorCode::parse(&c))
    };
    let progress = RwSignal::new(None::<u32>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        upload_with_progress(ev, progress);
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, progress);
    };
    view! {
        <section class="section narrow">
            <PageMeta title=T::import_title description=T::meta_site private=true/>
            <h1>{tr(T::import_title)}</h1>
            <p class="muted">{tr(T::import_intro)}</p>
            <pre class="code-line">{crate::official::api::IMPORT_HEADER}</pre>
            <form method="post" action="/import/households" enctype="multipart/form-data" class="form" on:submit=on_submit data-testid="import-form">
                <label for="import-file">{tr(T::import_file)}</label>
                <input id="import-file" name="file" type="file" accept=".csv,text/csv,.xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required/>
                {move || progress.get().map(|p| view! {
                    <progress max="100" value=p data-testid="import-progress" aria-label=move || T::import_progress.t(use_lang().get())>{p} "%"</progress>
                })}
                <button type="submit" class="button primary">{tr(T::import_submit)}</button>
            </form>
            {move || error().map(|c| view! { <p class="form-error" role="alert">{tr(c.text())}</p> })}
            <Suspense fallback=|| ()>
                {move || result.get().flatten().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(o) => view! {
                        <div class="card" data-testid="import-result" role="status">
                            <p>
                                {tr(T::import_read)} " " <strong>{o.rows_read}</strong> " · "
                                {tr(T::import_inserted)} " " <strong data-testid="import-inserted">{o.inserted}</strong> " · "
                                {tr(T::import_updated)} " " <strong data-testid="import-updated">{o.updated}</strong> " · "
                                {tr(T::import_failed)} " " <strong data-testid="import-failed">{o.failed}</strong>
                            </p>
                            {(!o.errors.is_empty()).then(|| view! {
                                <ul class="event-list" data-testid="import-errors">
                                    {o.errors.iter().map(|e| view! {
                                        <li>{tr(T::import_line)} " " {e.line} " · " {e.field.clone()} " · " {e.message.clone()}</li>
                                    }).collect_view()}
                                </ul>
                            })}
                        </div>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Sends the import form with XMLHttpRequest, so the upload's progress shows; when it is done,
/// goes to the result. (Without a script the form posts itself and the server redirects.)
#[cfg(feature = "hydrate")]
fn upload_with_progress(ev: leptos::ev::SubmitEvent, progress: RwSignal<Option<u32>>) {
    crate::ui::send::send_form(ev, "/import/households", progress, |_, v| {
        let target = match v.get("id").and_then(|i| i.as_i64()) {
            Some(id) => format!("/import?id={id}"),
            None => format!(
                "/import?error={}",
                v.get("code").and_then(|c| c.as_str()).unwrap_or("internal")
            ),
        };
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_href(&target);
        }
    });
}

/// `/organisations/:id`: an organisation's side of 阳光 1+1 牵手计划: the villages it is paired
/// with, the projects it runs there, and what it bought from each this year: for its own
/// accounts, admins, and officials (their region's villages).
#[component]
pub fn OrganisationPage() -> impl IntoView {
    let id = crate::ui::use_id_param();
    let query = use_query_map();
    let data = Resource::new(
        move || (id(), query.with(|q| q.get("after"))),
        |(id, after)| api::organisation_pairings(id, after),
    );
    view! {
        <section class="section">
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <PageMeta title=T::org_title description=T::meta_site private=true/><h1>{tr(T::org_title)}</h1><ErrorNotice error=e/> }.into_any(),
                    Ok(o) => view! {
                        <PageMeta title=T::org_title description=T::meta_site private=true/>
                        <h1>{o.name.clone()}</h1>
                        <p class="muted">{tr(T::org_intro)}</p>
                        <p class="summary" data-testid="org-summary">
                            {o.year} " · " {tr(T::org_bought)} " " <strong><Money fen=o.bought_fen/></strong>
                        </p>
                        <h2 id="org-villages-title">{tr(T::org_villages)}</h2>
                        {o.villages.items.is_empty().then(|| view! { <p class="muted">{tr(T::org_none)}</p> })}
                        <ul class="visit-list" data-testid="org-villages" aria-labelledby="org-villages-title">
                            {o.villages.items.iter().map(|v| view! {
                                <li>
                                    <strong>{v.village.clone()}</strong>
                                    {v.county.clone().map(|c| view! { " · " {c} })}
                                    " · " {tr(T::org_since)} " " {v.since_year}
                                    <p>{tr(T::org_projects)} ": " {if v.projects.is_empty() { "—".to_owned() } else { v.projects.clone() }}</p>
                                    <p>{tr(T::pairing_bought)} " " <Money fen=v.bought_fen/></p>
                                </li>
                            }).collect_view()}
                        </ul>
                        <Pager key="after" next=o.villages.next.clone() label=T::org_villages first_text=T::pages_first next_text=T::pages_next/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
