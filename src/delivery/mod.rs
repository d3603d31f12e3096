//! Delivery (配送): the buyer's address book with its region picker, and sellers' delivery
//! terms. Checkout (orders) reads both.

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;

use crate::domain::money::Fen;
use crate::domain::region::RegionCode;
use crate::i18n::{tr, T};
use crate::ui::meta::PageMeta;
use crate::ui::{ErrorNotice, Money};
use api::{AddressView, RegionOption, SellerTerms};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Submits the select's form when it changes (with a script; without one, the form's button).
fn submit_on_change(ev: leptos::ev::Event) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
            .and_then(|s| s.form())
        {
            let _ = form.request_submit();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// One level of the picker: a GET form whose select names the region chosen so far.
#[component]
fn PickerLevel(
    action: &'static str,
    label: T,
    id: &'static str,
    options: Vec<RegionOption>,
    chosen: Option<String>,
) -> impl IntoView {
    view! {
        <form method="get" action=action class="picker-level">
            <label for=id>{tr(label)}</label>
            <select id=id name="region" on:change=submit_on_change data-testid=id>
                <option value="" selected=chosen.is_none()>{tr(T::picker_choose)}</option>
                {options.into_iter().map(|o| {
                    let selected = chosen.as_deref() == Some(o.code.as_str());
                    view! { <option value=o.code.clone() selected=selected>{o.name}</option> }
                }).collect_view()}
            </select>
            <noscript><button type="submit" class="button">{tr(T::picker_next)}</button></noscript>
        </form>
    }
}

/// The region picker: province → city → county → township (→ village, with `depth` 5), each
/// level chosen from the division hierarchy (never typed). The choice lives in the address
/// `?region=` of the page at `action`.
#[component]
pub fn RegionPicker(
    region: Option<String>,
    action: &'static str,
    #[prop(default = 4)] depth: usize,
) -> impl IntoView {
    let code = region.as_deref().and_then(|r| RegionCode::parse(r).ok());
    // The chosen path, province first.
    let mut path: Vec<String> = code
        .as_ref()
        .map(|c| {
            let mut p: Vec<String> = c
                .ancestors()
                .iter()
                .rev()
                .map(|a| a.as_str().to_owned())
                .collect();
            p.push(c.as_str().to_owned());
            p
        })
        .unwrap_or_default();
    let depth = depth.clamp(1, 5);
    path.truncate(depth);
    let levels = [
        (T::picker_province, "pick-province"),
        (T::picker_city, "pick-city"),
        (T::picker_county, "pick-county"),
        (T::picker_township, "pick-township"),
        (T::picker_village, "pick-village"),
    ];
    let parents: Vec<Option<String>> = std::iter::once(None)
        .chain(path.iter().take(depth - 1).cloned().map(Some))
        .collect();
    let options = Resource::new(
        move || parents.clone(),
        |parents| async move {
            let mut out = Vec::new();
            for p in parents {
                out.push(api::regions(p).await);
            }
            out
        },
    );
    view! {
        <div class="picker" role="group" aria-label=move || T::picker_label.t(crate::i18n::use_lang().get())>
            <Suspense fallback=|| ()>
                {move || options.get().map(|levels_opts| {
                    levels_opts.into_iter().enumerate().map(|(i, opts)| match opts {
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        Ok(opts) if opts.is_empty() => ().into_any(),
                        Ok(opts) => {
                            let (label, id) = levels[i];
                            view! { <PickerLevel action=action label=label id=id options=opts chosen=path.get(i).cloned()/> }.into_any()
                        }
                    }).collect_view()
                })}
            </Suspense>
        </div>
    }
}

/// `/account/addresses`: the buyer's address book.
#[component]
pub fn AddressesPage() -> impl IntoView {
    let save = ServerAction::<api::SaveAddress>::new();
    let remove = ServerAction::<api::RemoveAddress>::new();
    let query = use_query_map();
    let region = move || query.with(|q| q.get("region"));
    let list = Resource::new(
        move || (save.version().get(), remove.version().get()),
        |_| api::addresses(),
    );
    view! {
        <section class="card narrow">
            <PageMeta title=T::addresses_title description=T::meta_site private=true/>
            <h1>{tr(T::addresses_title)}</h1>
            <Transition fallback=|| ()>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-addresses">{tr(T::addresses_none)}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="addresses" data-testid="addresses">
                            {list.into_iter().map(|a| view! { <AddressItem address=a remove=remove/> }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
            <h2>{tr(T::addresses_new)}</h2>
            <p class="muted">{tr(T::addresses_step_region)}</p>
            {move || view! { <RegionPicker region=region() action="/account/addresses"/> }}
            {move || {
                let chosen = region()
                    .and_then(|r| RegionCode::parse(&r).ok())
                    .filter(|c| c.as_str().len() >= 9);
                match chosen {
                    None => view! { <p class="muted">{tr(T::addresses_need_township)}</p> }.into_any(),
                    Some(code) => view! {
                        <ActionForm action=save attr:class="form" attr:data-testid="address-form">
                            <input type="hidden" name="region_code" value=code.as_str().to_owned()/>
                            <label for="addr-recipient">{tr(T::addresses_recipient)}</label>
                            <input id="addr-recipient" name="recipient" required maxlength="20" autocomplete="name"/>
                            <label for="addr-mobile">{tr(T::addresses_mobile)}</label>
                            <input id="addr-mobile" name="mobile" required inputmode="tel" autocomplete="tel" maxlength="20"/>
                            <label for="addr-detail">{tr(T::addresses_detail)}</label>
                            <input id="addr-detail" name="detail" required maxlength="100" autocomplete="street-address"/>
                            <label for="addr-unit">{tr(T::addresses_unit)}</label>
                            <input id="addr-unit" name="unit_name" maxlength="50" autocomplete="organization"/>
                            <label class="check"><input type="checkbox" name="is_default" value="true"/> {tr(T::addresses_make_default)}</label>
                            <div class="form-error">{move || save.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
                            <button type="submit" class="button primary" data-testid="save-address" disabled=move || save.pending().get()>{tr(T::save)}</button>
                        </ActionForm>
                    }.into_any(),
                }
            }}
        </section>
    }
}

#[component]
fn AddressItem(address: AddressView, remove: ServerAction<api::RemoveAddress>) -> impl IntoView {
    let id = address.id;
    view! {
        <li class="address" data-testid="address">
            <p><strong>{address.recipient}</strong> " " {address.mobile}
                {address.is_default.then(|| view! { " " <span class="badge">{tr(T::addresses_default)}</span> })}</p>
            <p>{address.region_name} " " {address.detail}</p>
            {address.unit_name.map(|u| view! { <p class="muted">{u}</p> })}
            <ActionForm action=remove attr:class="inline-form">
                <input type="hidden" name="id" value=id/>
                <button type="submit" class="link-button">{tr(T::addresses_remove)}</button>
            </ActionForm>
        </li>
    }
}

/// The delivery terms of the sellers one acts for (on the seller desk).
#[component]
pub fn SellerTermsForms() -> impl IntoView {
    let save = ServerAction::<api::SaveTerms>::new();
    let terms = Resource::new(move || save.version().get(), |_| api::my_terms());
    view! {
        <section class="card" aria-labelledby="delivery-terms">
            <h2 id="delivery-terms">{tr(T::terms_title)}</h2>
            <Transition fallback=|| ()>
                {move || terms.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(list) => list.into_iter().map(|t| view! { <TermsForm terms=t save=save/> }).collect_view().into_any(),
                })}
            </Transition>
            <div class="form-error">{move || save.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
        </section>
    }
}

#[component]
fn TermsForm(terms: SellerTerms, save: ServerAction<api::SaveTerms>) -> impl IntoView {
    let k = terms.seller.clone();
    let id = move |f: &str| format!("terms-{k}-{f}");
    let t = terms.terms;
    view! {
        <ActionForm action=save attr:class="form terms-form">
            <h3>{terms.seller_name}</h3>
            <input type="hidden" name="seller" value=terms.seller.clone()/>
            <label for=id("fee")>{tr(T::terms_courier_fee)}</label>
            <input id=id("fee") name="courier_fee" inputmode="decimal" value=Fen::new(t.courier_fee_fen).plain_yuan()/>
            <label for=id("free")>{tr(T::terms_free_above)}</label>
            <input id=id("free") name="free_above" inputmode="decimal" value=t.free_above_fen.map(|f| Fen::new(f).plain_yuan()).unwrap_or_default()/>
            <label for=id("pickup")>{tr(T::terms_pickup)}</label>
            <input id=id("pickup") name="pickup_point" maxlength="50" value=t.pickup_point.unwrap_or_default()/>
            <label for=id("hours")>{tr(T::terms_dispatch_hours)}</label>
            <input id=id("hours") name="dispatch_hours" inputmode="numeric" required value=t.dispatch_hours.to_string()/>
            <label class="check"><input type="checkbox" name="institution_delivery" value="true" checked=t.institution_delivery/> {tr(T::terms_institution)}</label>
            <button type="submit" class="button">{tr(T::save)}</button>
        </ActionForm>
    }
}

/// Shipping, shown as money or "free".
#[component]
pub fn Shipping(fen: i64) -> impl IntoView {
    if fen == 0 {
        view! { <span>{tr(T::shipping_free)}</span> }.into_any()
    } else {
        view! { <Money fen=fen/> }.into_any()
    }
}
