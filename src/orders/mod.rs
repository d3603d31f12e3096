//! Orders: cart, checkout, order lists and the impact receipt.

pub mod api;
pub mod cart;
#[cfg(feature = "ssr")]
pub mod server;

use crate::app::use_session;
use crate::i18n::{tr, T};
use crate::ui::{ErrorNotice, Money, Pager};
use api::{
    impact, my_orders, seller_orders, Cancel, Checkout, ConfirmPayment, Deliver, OrderView, Refund,
    Ship,
};
use cart::{cart_fingerprint, checkout_key, forget_checkout_key, use_cart};
use leptos::prelude::*;
use leptos_router::components::A;

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
    let place = move |_| {
        let lines = cart.0.get_untracked();
        let items = lines
            .iter()
            .map(|i| api::CartLine {
                listing_id: i.listing_id,
                quantity: i.quantity,
                price_fen: Some(i.price_fen),
            })
            .collect();
        action.dispatch(Checkout {
            idempotency_key: checkout_key(&cart_fingerprint(&lines)),
            items,
        });
    };
    let total = move || {
        cart.0
            .with(|items| items.iter().map(|i| i.price_fen * i.quantity).sum::<i64>())
    };
    view! {
        <section class="card">
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
                                        <a href=format!("/listing/{id}")>{i.title.clone()}</a>
                                        <p class="muted"><Money fen=i.price_fen/> " / " {i.unit.clone()}</p>
                                    </div>
                                    <label class="visually-hidden" for=qid.clone()>{tr(T::quantity)}</label>
                                    <input id=qid type="number" min="1" max="9999" class="qty" prop:value=i.quantity.to_string()
                                        on:change=move |ev| cart.set_quantity(id, event_target_value(&ev).parse().unwrap_or(1))/>
                                    <button type="button" class="link-button" on:click=move |_| cart.remove(id)>{tr(T::cart_remove)}</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <p class="cart-total">{tr(T::cart_total)} " " <strong><Money fen=total()/></strong></p>
                    <p class="muted">{tr(T::cart_note)}</p>
                    <p class="form-error" role="alert">{move || action.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</p>
                    <Transition fallback=|| ()>
                        {move || session.user.get().map(|u| match u {
                            Some(_) => view! {
                                <button type="button" class="button primary" data-testid="checkout" on:click=place disabled=move || action.pending().get()>{tr(T::checkout)}</button>
                            }.into_any(),
                            None => view! { <A href="/login" attr:class="button primary">{tr(T::checkout_login)}</A> }.into_any(),
                        })}
                    </Transition>
                }.into_any()
            }}
        </section>
    }
}

/// One order with the actions the viewer may take.
#[component]
fn OrderCard(order: OrderView, seller_view: bool, refresh: RwSignal<usize>) -> impl IntoView {
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
                    <li>{i.title.clone()} " × " {i.quantity} " " <Money fen=i.line_total_fen/></li>
                }).collect_view()}
            </ul>
            <p class="cart-total">{tr(T::cart_total)} " " <strong><Money fen=order.total_fen/></strong></p>
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
                    (false, "shipped") => view! { <button type="button" class="button" on:click=move |_| { deliver.dispatch(Deliver { order_id: id }); }>{tr(T::order_confirm_delivery)}</button> }.into_any(),
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
                        <button type="button" class="button primary" on:click=move |_| { ship.dispatch(Ship { order_id: id }); }>{tr(T::order_ship)}</button>
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
                            <p>{r.lifted_past_line} " " {tr(T::impact_lifted)}</p>
                            {(r.status != "placed").then(|| view! {
                                <p class="muted" data-testid="impact-evidence">{tr(if r.verified { T::impact_verified } else { T::impact_attested })}</p>
                            })}
                            {(!r.named.is_empty()).then(|| view! { <p class="muted">{r.named.join("、")}</p> })}
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
    let orders = Resource::new(
        move || (refresh.get(), after()),
        move |(_, after)| async move {
            if seller_view {
                seller_orders(after).await
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
            <h1>{tr(title)}</h1>
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
