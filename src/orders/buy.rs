//! `/buy`: one listing bought with plain HTML forms. It needs no script, so it is the way to buy
//! with JavaScript off, and where a tap on "加入购物车" lands when the page's script has not
//! loaded yet (the button is a form's submit button first), instead of being lost.

use super::api::{buy_now, BuyNowView, DeliveryChoice};
use super::method_text;
use crate::domain::listing::title_in;
use crate::error::ErrorCode;
use crate::i18n::{tr, use_lang, T};
use crate::ui::meta::PageMeta;
use crate::ui::{url_component, ErrorNotice, Money};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// What `/buy?listing=…&quantity=…&event=…&address=…&seller=…&method=…` asks for.
type BuyQuery = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[component]
pub fn BuyPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || -> BuyQuery {
            query.with(|q| {
                (
                    q.get("listing"),
                    q.get("quantity"),
                    q.get("event"),
                    q.get("address"),
                    q.get("seller"),
                    q.get("method"),
                )
            })
        },
        |(listing, quantity, event, address, seller, method)| async move {
            let num = |v: Option<String>| v.and_then(|v| v.trim().parse::<i64>().ok());
            // A quantity that is not a number is refused by name, not read as 1.
            let quantity = quantity
                .filter(|q| !q.trim().is_empty())
                .map(|q| q.trim().parse::<i64>().unwrap_or(0));
            let delivery = match (seller, method) {
                (Some(seller), Some(method)) if !seller.is_empty() && !method.is_empty() => {
                    Some(vec![DeliveryChoice {
                        seller,
                        method,
                        shipping_fen: None,
                    }])
                }
                _ => None,
            };
            buy_now(
                num(listing).unwrap_or(0),
                quantity,
                num(event),
                num(address),
                delivery,
            )
            .await
        },
    );
    // Why the last attempt was refused (the form handler sends the buyer back with it).
    let lang = use_lang();
    let refused = move || {
        query
            .with(|q| q.get("error"))
            .and_then(|c| ErrorCode::parse(&c))
    };
    view! {
        <section class="card buy-now">
            <PageMeta title=T::buy_title description=T::meta_site/>
            <h1>{tr(T::buy_title)}</h1>
            {move || refused().map(|c| view! {
                <p class="notice notice-error" role="alert" data-testid="buy-error">{c.text().t(lang.get())}</p>
            })}
            <Suspense fallback=|| ()>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(v) => view! { <BuyBody v=v/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn BuyBody(v: BuyNowView) -> impl IntoView {
    let lang = use_lang();
    let id = v.listing_id;
    let here = format!(
        "/buy?listing={id}&quantity={}{}",
        v.quantity,
        v.event_id
            .map(|e| format!("&event={e}"))
            .unwrap_or_default()
    );
    let login = format!("/login?next={}", url_component(&here));
    let discounted = v.unit_price_fen < v.normal_price_fen;
    view! {
        <div class="buy-item">
            {v.photo.clone().map(|src| view! { <img src=src alt="" width="160" height="120"/> })}
            <div>
                <h2><a href=format!("/listing/{id}")>{let (zh, en) = (v.title.clone(), v.title_en.clone()); move || title_in(lang.get(), &zh, &en)}</a></h2>
                <p class="muted">{v.seller_name.clone()}</p>
                {v.event_title.clone().map(|t| view! {
                    <p><span class="badge badge-live">{tr(T::live_title)}</span> " "
                       <a href=format!("/live/{}", v.event_id.unwrap_or_default())>{t}</a></p>
                })}
                <p class="price-big" data-testid="buy-unit-price">
                    <Money fen=v.unit_price_fen/>
                    {discounted.then(|| view! { " " <s class="muted"><Money fen=v.normal_price_fen/></s> })}
                    <span class="unit">" / " {v.unit.clone()}</span>
                </p>
            </div>
        </div>
        {if !v.on_sale {
            view! { <p class="notice">{tr(T::err_listing_unavailable)}</p> }.into_any()
        } else if !v.logged_in {
            view! {
                <p>{tr(T::buy_login_first)}</p>
                <p><a class="button primary" href=login data-testid="buy-login">{tr(T::checkout_login)}</a></p>
            }.into_any()
        } else {
            let quote = v.quote.clone();
            view! {
                <form method="post" action=crate::orders::BUY_PATH class="form buy-form" data-testid="buy-form">
                    <input type="hidden" name="listing" value=id/>
                    {v.event_id.map(|e| view! { <input type="hidden" name="event" value=e/> })}
                    <input type="hidden" name="key" value=v.key.clone()/>
                    <input type="hidden" name="price_fen" value=v.unit_price_fen/>
                    <label for="buy-qty">{tr(T::quantity)} " (" {v.unit.clone()} ")"</label>
                    <input id="buy-qty" name="quantity" type="number" min="1" max="9999" inputmode="numeric"
                        required value=v.quantity/>
                    {v.quote_error.clone().map(|e| view! {
                        <p class="notice notice-error" role="alert">{move || e.code.text().t(lang.get())}</p>
                    })}
                    {quote.map(|q| {
                        let current = q.address_id;
                        view! {
                            <fieldset class="addresses-choice">
                                <legend>{tr(T::deliver_to)}</legend>
                                {if q.addresses.is_empty() {
                                    view! { <p data-testid="no-address">{tr(T::no_address)}</p> }.into_any()
                                } else {
                                    q.addresses.iter().cloned().map(|a| view! {
                                        <label class="check address-choice">
                                            <input type="radio" name="address" value=a.id checked=current == Some(a.id)/>
                                            {a.recipient} " " {a.mobile} " · " {a.region_name} " " {a.detail}
                                        </label>
                                    }).collect_view().into_any()
                                }}
                                <p><a href="/account/addresses">{tr(T::addresses_manage)}</a></p>
                            </fieldset>
                            {q.groups.into_iter().map(|g| view! {
                                <input type="hidden" name="seller" value=g.seller.clone()/>
                                <input type="hidden" name="shipping_fen" value=g.shipping_fen/>
                                <label for="buy-method">{tr(T::delivery_method)}</label>
                                <select id="buy-method" name="method">
                                    {g.methods.iter().map(|m| view! { <option value=m.clone() selected=*m == g.method>{tr(method_text(m))}</option> }).collect_view()}
                                </select>
                                {g.pickup_point.clone().filter(|_| g.method == "pickup").map(|p| view! { <p class="muted">{tr(T::pickup_at)} " " {p}</p> })}
                                <p>{tr(T::goods)} " " <Money fen=g.goods_fen/> " · " {tr(T::shipping)} " "
                                   <crate::delivery::Shipping fen=g.shipping_fen/></p>
                                <p class="muted">{tr(T::ships_within)} " " {g.dispatch_hours} " " {tr(T::hours_suffix)}</p>
                            }).collect_view()}
                            {q.institution.then(|| view! {
                                <fieldset class="invoice">
                                    <legend>{tr(T::invoice)}</legend>
                                    <label for="buy-invoice-title">{tr(T::invoice_title)}</label>
                                    <input id="buy-invoice-title" name="invoice_title" maxlength="50"/>
                                    <label for="buy-invoice-tax">{tr(T::invoice_tax_no)}</label>
                                    <input id="buy-invoice-tax" name="invoice_tax_no" maxlength="20"/>
                                </fieldset>
                            })}
                            <p class="cart-total">{tr(T::grand_total)} " " <strong data-testid="buy-total"><Money fen=q.total_fen/></strong></p>
                        }
                    })}
                    <p class="muted">{tr(T::buy_update_hint)}</p>
                    <div class="buy-actions">
                        // The first button is what Enter presses: it prices the changed choices.
                        <button type="submit" class="button" name="op" value="update" formnovalidate=true
                            data-testid="buy-update">{tr(T::buy_update)}</button>
                        <button type="submit" class="button primary" data-testid="buy-place">{tr(T::checkout)}</button>
                    </div>
                </form>
            }.into_any()
        }}
        <p class="muted"><a href="/cart">{tr(T::nav_cart)}</a></p>
    }
}
