//! Sharing an impact receipt: the buyer's controls on the orders page, and the public page the
//! link opens (`/impact/:token`), which shows what was bought and where the money went, never
//! who bought it.

use super::api::{shared_impact, ImpactShare, ShareImpact, UnshareImpact};
use crate::domain::listing::{title_in, unit_in};
use crate::domain::money::Fen;
use crate::i18n::{tr, use_lang, T};
use crate::shops::ShareBox;
use crate::ui::meta::{PageMeta, Words};
use crate::ui::{ErrorNotice, Money};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// Under a paid order's receipt: share it as a public link and QR code, or stop sharing.
#[component]
pub fn ImpactShareControls(order_id: i64, shared: Option<ImpactShare>) -> impl IntoView {
    let share = ServerAction::<ShareImpact>::new();
    let unshare = ServerAction::<UnshareImpact>::new();
    let current = RwSignal::new(shared);
    Effect::new(move |_| {
        if let Some(Ok(s)) = share.value().get() {
            current.set(Some(s));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = unshare.value().get() {
            current.set(None);
        }
    });
    // The error of the latest of the two actions only.
    let error = move || {
        if share.version().get() >= unshare.version().get() {
            share.value().get().and_then(Result::err)
        } else {
            unshare.value().get().and_then(Result::err)
        }
    };
    view! {
        <div class="impact-share">
            {move || match current.get() {
                Some(s) => view! {
                    <ShareBox url=s.url.clone() qr=s.qr.clone() title=T::impact_share_title file=format!("impact-{order_id}")/>
                    <p class="page-actions">
                        <a href=s.path.clone() data-testid="impact-public">{tr(T::impact_share_open)}</a>
                        <ActionForm action=unshare attr:class="inline-form">
                            <input type="hidden" name="order_id" value=order_id/>
                            <button type="submit" class="button" data-testid="impact-unshare">{tr(T::impact_unshare)}</button>
                        </ActionForm>
                    </p>
                }.into_any(),
                None => view! {
                    <ActionForm action=share>
                        <input type="hidden" name="order_id" value=order_id/>
                        <button type="submit" class="button" data-testid="impact-share">{tr(T::impact_share)}</button>
                    </ActionForm>
                    <p class="hint">{tr(T::impact_share_hint)}</p>
                }.into_any(),
            }}
            <div class="form-error">{move || error().map(|e| view! { <ErrorNotice error=e/> })}</div>
        </div>
    }
}

/// `/impact/:token`: a receipt its buyer shared.
#[component]
pub fn ImpactSharePage() -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token")).unwrap_or_default();
    let data = Resource::new(token, shared_impact);
    view! {
        <section class="section narrow">
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! {
                        <PageMeta title=T::impact_public_title description=T::meta_site private=true/>
                        <h1>{tr(T::impact_public_title)}</h1>
                        <ErrorNotice error=e/>
                    }.into_any(),
                    Ok(s) => {
                        let added = Fen::new(s.to_households_fen);
                        let title = Words::each(
                            format!("这份订单为 {} 户农户增收 {added}", s.households),
                            format!("This order added {added} to the incomes of {} households", s.households),
                        );
                        let description = Words::each(
                            format!("以购代捐：{}的农户因这份订单增收，每一笔都记入他们的收入台账。", s.villages.join("、")),
                            format!("Purchase in lieu of donation: households in {} earned from this order, and every fen is in their income records.", s.villages.join(", ")),
                        );
                        let token = token();
                        view! {
                            // Found only through its link: not for search engines.
                            <PageMeta title=title description=description private=true/>
                            <article class="impact-public" data-testid="impact-public-page">
                                <h1>{tr(T::impact_public_title)}</h1>
                                <p class="impact-figure">{tr(T::impact_lead)} " " <strong data-testid="impact-public-added"><Money fen=s.to_households_fen/></strong></p>
                                <p>{s.households} " " {tr(T::impact_households)} " " {s.villages.join("、")}</p>
                                {(!s.named.is_empty()).then(|| view! { <p class="muted">{s.named.join("、")}</p> })}
                                <h2>{tr(T::impact_public_bought)}</h2>
                                <ul class="impact-lines">
                                    {s.lines.iter().map(|l| {
                                        let (zh, en, unit) = (l.title.clone(), l.title_en.clone(), l.unit.clone());
                                        let quantity = l.quantity;
                                        view! {
                                            <li>
                                                <a href=format!("/listing/{}", l.listing_id)>{move || title_in(lang.get(), &zh, &en)}</a>
                                                " · " {move || unit_in(lang.get(), &unit)} " × " {quantity}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                <p class="muted">{tr(T::impact_public_total)} " " <Money fen=s.total_fen/> " · " {tr(T::impact_public_month)} " " {s.month.clone()}</p>
                                <p class="muted">{tr(if s.verified { T::impact_verified } else { T::impact_attested })}</p>
                                <p><a class="button primary" href="/market">{tr(T::impact_public_cta)}</a></p>
                                <ShareBox url=s.share_url.clone() qr=format!("/s/r{token}/qr.svg") title=T::impact_share_title file=format!("impact-{token}")/>
                            </article>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
