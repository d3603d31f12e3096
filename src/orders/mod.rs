//! Orders: cart, checkout, order lists and the impact receipt.

pub mod api;
pub mod buy;
pub mod cart;
pub mod impact;
#[cfg(feature = "ssr")]
pub mod server;

use crate::app::use_session;
use crate::domain::listing::title_in;
use crate::i18n::{tr, use_lang, T};
use crate::ui::meta::PageMeta;
use crate::ui::{ErrorNotice, Money, Pager};
use api::{
    impact, my_orders, seller_orders, Cancel, Checkout, ConfirmPayment, Deliver, OrderView, Refund,
    Ship,
};
use cart::{cart_fingerprint, checkout_key, forget_checkout_key, use_cart};
use leptos::prelude::*;
use leptos_router::components::A;

/// Where the plain-HTML buy form posts (the page itself is `/buy`).
pub const BUY_PATH: &str = "/buy/place";

pub fn status_text(status: &str) -> T {
    match status {
        "placed" => T::status_placed,
        "paid" => T::status_paid,
        "shipped" => T::status_shipped,
        "delivered" => T::status_delivered,
        "cancelled" => T::status_cancelled,
        _ => T::status_refunded,
    }
}

#[component]
pub fn CartPage() -> impl IntoView {
    let lang = use_lang();
    let cart = use_cart();
    let session = use_session();
    let action = ServerAction::<Checkout>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(_)) => {
            forget_checkout_key();
            cart.clear();
            navigate("/orders", Default::default());
        }
        // The cart shows the new price; the buyer looks and places the order again.
        Some(Err(e)) => {
            if let Some(p) = e.price_change {
                cart.set_price(p.listing_id, p.price_fen);
            }
        }
        None => {}
    });
    // Where and how the checkout is delivered, as the buyer chooses on this page.
    let chosen_address = RwSignal::new(None::<i64>);
    let methods = RwSignal::new(std::collections::BTreeMap::<String, String>::new());
    let invoice_title = RwSignal::new(String::new());
    let invoice_tax_no = RwSignal::new(String::new());
    let lines_of = move |lines: &[cart::CartItem]| -> Vec<api::CartLine> {
        lines
            .iter()
            .map(|i| api::CartLine {
                listing_id: i.listing_id,
                quantity: i.quantity,
                price_fen: Some(i.price_fen),
                event_id: i.event_id,
            })
            .collect()
    };
    let choices =
        move |m: &std::collections::BTreeMap<String, String>| -> Vec<api::DeliveryChoice> {
            m.iter()
                .map(|(seller, method)| api::DeliveryChoice {
                    seller: seller.clone(),
                    method: method.clone(),
                    shipping_fen: None,
                })
                .collect()
        };
    let quote = Resource::new(
        move || {
            (
                cart.0.get(),
                chosen_address.get(),
                methods.get(),
                session.user.get().flatten().is_some(),
            )
        },
        move |(lines, address, m, logged_in)| async move {
            if lines.is_empty() || !logged_in {
                return None;
            }
            Some(api::quote(lines_of(&lines), address, Some(choices(&m))).await)
        },
    );
    let place = move |_| {
        let lines = cart.0.get_untracked();
        let address = chosen_address.get_untracked().or_else(|| {
            quote
                .get_untracked()
                .flatten()
                .and_then(Result::ok)
                .and_then(|q| q.address_id)
        });
        // Every seller's method and the shipping the buyer was shown.
        let delivery: Vec<api::DeliveryChoice> = quote
            .get_untracked()
            .flatten()
            .and_then(Result::ok)
            .map(|q| {
                q.groups
                    .into_iter()
                    .map(|g| api::DeliveryChoice {
                        seller: g.seller,
                        method: g.method,
                        shipping_fen: Some(g.shipping_fen),
                    })
                    .collect()
            })
            .unwrap_or_else(|| choices(&methods.get_untracked()));
        let (title, tax) = (
            invoice_title.get_untracked(),
            invoice_tax_no.get_untracked(),
        );
        let fingerprint = format!(
            "{}|{address:?}|{delivery:?}|{title}|{tax}",
            cart_fingerprint(&lines)
        );
        action.dispatch(Checkout {
            idempotency_key: checkout_key(&fingerprint),
            items: lines_of(&lines),
            address_id: address,
            delivery: Some(delivery),
            invoice_title: Some(title),
            invoice_tax_no: Some(tax),
        });
    };
    let total = move || {
        cart.0
            .with(|items| items.iter().map(|i| i.price_fen * i.quantity).sum::<i64>())
    };
    view! {
        <section class="card">
            <PageMeta title=T::cart_title description=T::meta_site/>
            <h1>{tr(T::cart_title)}</h1>
            {move || if cart.0.with(Vec::is_empty) {
                view! { <p class="empty" data-testid="cart-empty">{tr(T::cart_empty)} " " <A href="/market">{tr(T::home_see_all)}</A></p> }.into_any()
            } else {
                view! {
                    <ul class="cart-lines" data-testid="cart-lines">
                        {move || cart.0.get().into_iter().map(|i| {
                            let id = i.listing_id;
                            let qid = format!("cart-qty-{id}");
                            view! {
                                <li class="cart-line">
                                    <div>
                                        <a href=format!("/listing/{id}")>{let i = i.clone(); move || i.title_in(lang.get())}</a>
                                        <p class="muted"><Money fen=i.price_fen/> " / " {let i = i.clone(); move || i.unit_in(lang.get())}</p>
                                    </div>
                                    <label class="visually-hidden" for=qid.clone()>{tr(T::quantity)}</label>
                                    <input id=qid type="number" min="1" max="9999" class="qty" prop:value=i.quantity.to_string()
                                        on:change=move |ev| cart.set_quantity(id, event_target_value(&ev).parse().unwrap_or(1))/>
                                    <button type="button" class="link-button" on:click=move |_| cart.remove(id)>{tr(T::cart_remove)}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <p class="cart-total">{tr(T::goods)} " " <strong><Money fen=total()/></strong></p>
                    <Transition fallback=|| ()>
                        {move || quote.get().flatten().map(|q| match q {
                            Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                            Ok(q) => view! { <CartDelivery quote=q chosen_address=chosen_address methods=methods invoice_title=invoice_title invoice_tax_no=invoice_tax_no/> }.into_any(),
                        })}
                    </Transition>
                    <p class="muted">{tr(T::cart_note)}</p>
                    <div class="form-error">{move || action.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
                    <Transition fallback=|| ()>
                        {move || session.user.get().map(|u| match u {
                            Some(_) => view! {
                                <button type="button" class="button primary" data-testid="checkout" on:click=place disabled=move || action.pending().get()>{tr(T::checkout)}</button>
                            }.into_any(),
                            None => view! { <A href=crate::ui::auth_href("/login", "/cart") attr:class="button primary">{tr(T::checkout_login)}</A> }.into_any(),
                        })}
                    </Transition>
                }.into_any()
            }}
        </section>
    }
}

pub(crate) fn method_text(m: &str) -> T {
    match m {
        "pickup" => T::method_pickup,
        "institution" => T::method_institution,
        _ => T::method_courier,
    }
}

/// The cart's delivery: the address, each seller's method and shipping, the invoice, the total.
#[component]
fn CartDelivery(
    quote: api::CartQuote,
    chosen_address: RwSignal<Option<i64>>,
    methods: RwSignal<std::collections::BTreeMap<String, String>>,
    invoice_title: RwSignal<String>,
    invoice_tax_no: RwSignal<String>,
) -> impl IntoView {
    let current = quote.address_id;
    view! {
        <section class="cart-delivery" aria-labelledby="deliver-to">
            <h2 id="deliver-to">{tr(T::deliver_to)}</h2>
            {if quote.addresses.is_empty() {
                view! { <p data-testid="no-address">{tr(T::no_address)} " " <a href="/account/addresses" data-testid="add-address">{tr(T::addresses_manage)}</a></p> }.into_any()
            } else {
                view! {
                    <fieldset class="addresses-choice">
                        <legend class="visually-hidden">{tr(T::deliver_to)}</legend>
                        {quote.addresses.iter().cloned().map(|a| {
                            let id = a.id;
                            view! {
                                <label class="check address-choice">
                                    <input type="radio" name="address" value=id checked=current == Some(id)
                                        on:change=move |_| chosen_address.set(Some(id))/>
                                    {a.recipient} " " {a.mobile} " · " {a.region_name} " " {a.detail}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <p><a href="/account/addresses">{tr(T::addresses_manage)}</a></p>
                }.into_any()
            }}
            <ul class="cart-groups" data-testid="cart-groups">
                {quote.groups.into_iter().map(|g| {
                    let seller = g.seller.clone();
                    let sid = format!("method-{}", g.seller);
                    view! {
                        <li class="cart-group" data-testid="cart-group">
                            <p><strong>{g.seller_name.clone()}</strong></p>
                            <label for=sid.clone()>{tr(T::delivery_method)}</label>
                            <select id=sid on:change=move |ev| {
                                let v = event_target_value(&ev);
                                let s = seller.clone();
                                methods.update(|m| { m.insert(s, v); });
                            }>
                                {g.methods.iter().map(|m| view! { <option value=m.clone() selected=*m == g.method>{tr(method_text(m))}</option> }).collect_view()}
                            </select>
                            {g.pickup_point.clone().filter(|_| g.method == "pickup").map(|p| view! { <p class="muted">{tr(T::pickup_at)} " " {p}</p> })}
                            <p>{tr(T::goods)} " " <Money fen=g.goods_fen/> " · " {tr(T::shipping)} " " <span data-testid="group-shipping"><crate::delivery::Shipping fen=g.shipping_fen/></span>
                               " · " <strong><Money fen=g.total_fen/></strong></p>
                            <p class="muted">{tr(T::ships_within)} " " {g.dispatch_hours} " " {tr(T::hours_suffix)}</p>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {quote.institution.then(|| view! {
                <fieldset class="invoice">
                    <legend>{tr(T::invoice)}</legend>
                    <label for="invoice-title">{tr(T::invoice_title)}</label>
                    <input id="invoice-title" maxlength="50" prop:value=move || invoice_title.get() on:input=move |ev| invoice_title.set(event_target_value(&ev))/>
                    <label for="invoice-tax">{tr(T::invoice_tax_no)}</label>
                    <input id="invoice-tax" maxlength="20" prop:value=move || invoice_tax_no.get() on:input=move |ev| invoice_tax_no.set(event_target_value(&ev))/>
                </fieldset>
            })}
            <p class="cart-total">{tr(T::grand_total)} " " <strong data-testid="grand-total"><Money fen=quote.total_fen/></strong></p>
        </section>
    }
}

/// One order with the actions the viewer may take.
#[component]
fn OrderCard(order: OrderView, seller_view: bool, refresh: RwSignal<usize>) -> impl IntoView {
    let lang = use_lang();
    let id = order.id;
    let status = order.status.clone();
    let cancel = ServerAction::<Cancel>::new();
    let deliver = ServerAction::<Deliver>::new();
    let confirm = ServerAction::<ConfirmPayment>::new();
    let ship = ServerAction::<Ship>::new();
    let refund = ServerAction::<Refund>::new();
    let bump = move |v: usize| {
        if v > 0 {
            refresh.update(|n| *n += 1)
        }
    };
    Effect::new(move |_| {
        bump(
            cancel.version().get()
                + deliver.version().get()
                + confirm.version().get()
                + ship.version().get()
                + refund.version().get(),
        )
    });
    let impact_open = RwSignal::new(false);
    let receipt = Resource::new(
        move || impact_open.get(),
        move |open| async move {
            if open {
                Some(impact(id).await)
            } else {
                None
            }
        },
    );
    let s = status.clone();
    let s_delivered = status == "delivered";
    view! {
        <li class="order-card" data-testid="order">
            <header class="order-head">
                <span>{tr(T::order_no)} " #" {id} " · " <time class="muted">{crate::domain::calendar::date_time_of(order.created_at)}</time></span>
                <span class="badge" data-testid="order-status">{tr(status_text(&s))}</span>
            </header>
            <p class="muted">
                {if seller_view { view! { {tr(T::order_buyer)} ": " {order.buyer_name.clone()} }.into_any() } else { view! { {tr(T::order_seller)} ": " {order.seller_name.clone()} }.into_any() }}
            </p>
            <ul class="order-items">
                {order.items.iter().map(|i| view! {
                    <li>{let (zh, en) = (i.title.clone(), i.title_en.clone()); move || title_in(lang.get(), &zh, &en)} " × " {i.quantity} " " <Money fen=i.line_total_fen/>
                        // The buyer reviews what was delivered, once per item.
                        {(!seller_view && s_delivered && i.item_id > 0).then(|| view! {
                            <crate::reviews::ReviewItemForm item_id=i.item_id rating=i.rating/>
                        })}
                    </li>
                }).collect_view()}
            </ul>
            {(order.shipping_fen > 0).then(|| view! {
                <p class="muted">{tr(T::shipping)} " " <Money fen=order.shipping_fen/></p>
            })}
            <p class="cart-total">{tr(T::cart_total)} " " <strong><Money fen=order.total_fen/></strong></p>
            {order.delivery_method.as_deref().map(|m| view! {
                <div class="order-delivery" data-testid="order-delivery">
                    <p>{tr(T::delivery_method)} ": " {tr(method_text(m))}
                        {order.pickup_point.clone().map(|p| view! { " · " {tr(T::pickup_at)} " " {p} })}</p>
                    {order.recipient.clone().map(|r| view! {
                        <p data-testid="order-recipient">{r} " " {order.mobile.clone().unwrap_or_default()} " · " {order.address.clone().unwrap_or_default()}
                            {order.unit_name.clone().map(|u| view! { " · " {u} })}</p>
                    })}
                    {order.invoice_title.clone().map(|t| view! {
                        <p>{tr(T::invoice)} ": " {t} " " {order.invoice_tax_no.clone().unwrap_or_default()}</p>
                    })}
                    {order.tracking_no.clone().map(|no| view! {
                        <p data-testid="order-tracking">{tr(T::shipped_with)} " " {order.courier.clone().unwrap_or_default()} " " {no}</p>
                    })}
                    {order.dispatch_by.map(|d| view! {
                        <p class=if order.overdue { "notice" } else { "muted" } data-testid="order-dispatch-by">
                            {if order.overdue { view! { <strong data-testid="order-overdue">{tr(T::overdue)}</strong> " · " }.into_any() } else { ().into_any() }}
                            {tr(T::dispatch_by)} " " <time>{crate::domain::calendar::date_time_of(d)}</time>
                        </p>
                    })}
                    {order.auto_receive_at.map(|d| view! {
                        <p class="muted">{tr(T::auto_receive_note)} " " <time>{crate::domain::calendar::date_of(d)}</time></p>
                    })}
                    {(order.delivered_by.as_deref() == Some("auto")).then(|| view! { <p class="muted">{tr(T::delivered_auto)}</p> })}
                </div>
            })}
            {(!seller_view && status == "placed").then(|| view! {
                <p><a class="button primary" href=format!("/orders/{id}/pay") data-testid="pay">{tr(T::order_pay)}</a></p>
            })}
            {order.paid_with.as_deref().map(|w| view! {
                <p class="muted" data-testid="order-paid-with">{tr(T::order_paid_with)} " " {tr(match w {
                    "wechat" => T::pay_wechat,
                    "alipay" => T::pay_alipay,
                    _ => T::pay_transfer,
                })}</p>
            })}
            {order.refund_due.then(|| view! { <p class="notice" data-testid="order-refund-due">{tr(T::order_refund_due)}</p> })}
            {(status == "placed").then(|| order.expires_at.map(|t| view! {
                <p class="muted" data-testid="order-expires">{tr(T::order_expires)} " " <time>{crate::domain::calendar::date_time_of(t)}</time></p>
            })).flatten()}
            {order.cancel_reason.as_deref().map(|r| view! {
                <p class="muted" data-testid="order-cancel-reason">{tr(match r {
                    "buyer" => T::order_cancel_reason_buyer,
                    "seller" => T::order_cancel_reason_seller,
                    "admin" => T::order_cancel_reason_admin,
                    _ => T::order_cancel_reason_expired,
                })}</p>
            })}
            <div class="actions">
                {match (seller_view, status.as_str()) {
                    (false, "placed") => view! { <button type="button" class="button" on:click=move |_| { if crate::ui::confirmed(T::order_cancel_confirm) { cancel.dispatch(Cancel { order_id: id }); } }>{tr(T::order_cancel)}</button> }.into_any(),
                    (false, "shipped") => view! { <button type="button" class="button primary" data-testid="confirm-delivery" on:click=move |_| { if crate::ui::confirmed(T::order_deliver_confirm) { deliver.dispatch(Deliver { order_id: id }); } }>{tr(T::order_confirm_delivery)}</button> }.into_any(),
                    (true, "placed") => view! {
                        <ActionForm action=confirm attr:class="inline-form">
                            <input type="hidden" name="order_id" value=id/>
                            <label>
                                <span>{tr(T::order_transfer_reference)}</span>
                                <input name="reference" required maxlength="64" autocomplete="off" data-testid="transfer-reference"/>
                            </label>
                            <button type="submit" class="button primary" data-testid="confirm-payment">{tr(T::order_confirm_payment)}</button>
                        </ActionForm>
                        <button type="button" class="button" data-testid="seller-cancel" on:click=move |_| { if crate::ui::confirmed(T::order_cancel_confirm) { cancel.dispatch(Cancel { order_id: id }); } }>{tr(T::order_seller_cancel)}</button>
                    }.into_any(),
                    (true, "paid") => view! {
                        <ActionForm action=ship attr:class="inline-form ship-form">
                            <input type="hidden" name="order_id" value=id/>
                            <label>
                                <span>{tr(T::courier_company)}</span>
                                <select name="courier" data-testid="ship-courier">
                                    {(order.delivery_method.as_deref() != Some("courier")).then(|| view! { <option value="">"—"</option> })}
                                    {crate::domain::delivery::COURIERS.iter().map(|c| view! { <option value=*c>{*c}</option> }).collect_view()}
                                </select>
                            </label>
                            <label>
                                <span>{tr(T::tracking_no)}</span>
                                <input name="tracking_no" maxlength="30" autocomplete="off" data-testid="ship-tracking"
                                    required=order.delivery_method.as_deref() == Some("courier")/>
                            </label>
                            <button type="submit" class="button primary" data-testid="ship">{tr(T::order_ship)}</button>
                        </ActionForm>
                        <button type="button" class="button" data-testid="refund" on:click=move |_| { if crate::ui::confirmed(T::order_refund_confirm) { refund.dispatch(Refund { order_id: id }); } }>{tr(T::order_refund)}</button>
                    }.into_any(),
                    (true, "cancelled") if order.refund_due => view! {
                        <button type="button" class="button primary" data-testid="refund" on:click=move |_| { if crate::ui::confirmed(T::order_refund_confirm) { refund.dispatch(Refund { order_id: id }); } }>{tr(T::order_refund)}</button>
                    }.into_any(),
                    _ => ().into_any(),
                }}
                {(!seller_view).then(|| view! {
                    <button type="button" class="button" data-testid="impact" on:click=move |_| impact_open.set(true)>{tr(T::order_impact)}</button>
                })}
            </div>
            <p class="form-error" role="alert">{move || {
                let err = |v: Option<Result<OrderView, crate::error::AppError>>| v.and_then(Result::err);
                err(confirm.value().get())
                    .or_else(|| err(refund.value().get()))
                    .or_else(|| err(cancel.value().get()))
                    .or_else(|| err(ship.value().get()))
                    .or_else(|| err(deliver.value().get()))
                    .map(|e| view! { <ErrorNotice error=e/> })
            }}</p>
            <Transition fallback=|| ()>
                {move || receipt.get().flatten().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(r) => view! {
                        <div class="impact" data-testid="impact-receipt">
                            {if r.status == "placed" { view! { <p>{tr(T::impact_pending)}</p> }.into_any() } else { ().into_any() }}
                            <p>{tr(T::impact_lead)} " " <strong><Money fen=r.to_households_fen/></strong></p>
                            <p>{r.households} " " {tr(T::impact_households)} " " {r.villages.join("、")}</p>
                            // Never "0 户越过监测线": with none yet, what the purchase counts towards.
                            {if r.lifted_past_line > 0 {
                                view! { <p>{r.lifted_past_line} " " {tr(T::impact_lifted)}</p> }.into_any()
                            } else {
                                view! { <p>{tr(T::impact_lifted_none)}</p> }.into_any()
                            }}
                            {(r.status != "placed").then(|| view! {
                                <p class="muted" data-testid="impact-evidence">{tr(if r.verified { T::impact_verified } else { T::impact_attested })}</p>
                            })}
                            {(!r.named.is_empty()).then(|| view! { <p class="muted">{r.named.join("、")}</p> })}
                            {matches!(r.status.as_str(), "paid" | "shipped" | "delivered").then(|| view! {
                                <impact::ImpactShareControls order_id=id shared=r.shared.clone()/>
                            })}
                        </div>
                    }.into_any(),
                })}
            </Transition>
        </li>
    }
}

/// The buyer's orders.
#[component]
pub fn OrdersPage() -> impl IntoView {
    view! { <OrderList seller_view=false/> }
}

/// The orders a seller has to fulfil.
#[component]
pub fn SellerOrdersPage() -> impl IntoView {
    view! { <OrderList seller_view=true/> }
}

#[component]
fn OrderList(seller_view: bool) -> impl IntoView {
    let refresh = RwSignal::new(0usize);
    // The page is in the address (`?after=<cursor>`), so paging works without a script too.
    let query = leptos_router::hooks::use_query_map();
    let after = move || query.with(|q| q.get("after"));
    let todo = move || query.with(|q| q.get("todo"));
    let orders = Resource::new(
        move || (refresh.get(), after(), todo()),
        move |(_, after, todo)| async move {
            if seller_view {
                seller_orders(after, todo).await
            } else {
                my_orders(after).await
            }
        },
    );
    let title = if seller_view {
        T::seller_orders_title
    } else {
        T::orders_title
    };
    view! {
        <section class="section">
            <PageMeta title=title description=T::meta_site private=true/>
            <h1>{tr(title)}</h1>
            {seller_view.then(|| view! {
                <p class="filters">
                    <a href="/seller/orders?todo=1" data-testid="orders-todo" aria-current=move || todo().is_some().then_some("page")>{tr(T::orders_todo)}</a>
                    " · "
                    <a href="/seller/orders" aria-current=move || todo().is_none().then_some("page")>{tr(T::orders_all)}</a>
                </p>
            })}
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || orders.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(page) if page.is_empty() && after().is_none() => view! { <p class="empty">{tr(T::orders_empty)}</p> }.into_any(),
                    Ok(page) => {
                        let next = page.next;
                        view! {
                            <ul class="order-list">{page.items.into_iter().map(|o| view! { <OrderCard order=o seller_view refresh/> }).collect_view()}</ul>
                            <Pager key="after" next=next label=T::orders_pages first_text=T::orders_newest next_text=T::orders_older/>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
