//! Payments (支付): WeChat Pay, Alipay and bank transfer (对公转账), and a local fake provider
//! that speaks WeChat Pay's and Alipay's protocols with test keys, for tests and the demo.
//!
//! Orders know only that a payment for an order succeeded or was refunded
//! (`orders::server::mark_paid`, `orders::server::refund_paid`); everything about providers,
//! signatures and notifications lives here.

#[cfg(feature = "ssr")]
pub mod alipay;
pub mod api;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod fake;
#[cfg(feature = "ssr")]
pub mod provider;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod transfer;
#[cfg(feature = "ssr")]
pub mod wechat;

#[cfg(feature = "ssr")]
pub use server::{
    beijing_time, now, rfc3339, Notice, NoticeKind, PayError, RefundRequest, StartAction,
    StartRequest,
};

use crate::i18n::{tr, use_lang, T};
use crate::orders::api::OrderView;
use crate::ui::meta::PageMeta;
use crate::ui::{ErrorNotice, Money};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The ways to pay, in the order the page offers them.
pub const METHODS: [&str; 3] = ["wechat", "alipay", "transfer"];

/// What the buyer is shown to pay with one method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayAction {
    /// Scan this QR code (an SVG) with the app. `open` is the code's address when a browser can
    /// follow it (the fake provider's), so a test can "scan" it by following the link.
    QrCode { svg: String, open: Option<String> },
    /// Continue at the provider's page.
    Redirect { url: String },
    /// Transfer to this account with this remark; the seller confirms it arrived.
    Transfer {
        account_name: String,
        bank: String,
        account_no: String,
        remark: String,
    },
    /// No account to transfer to is configured: the seller gives it.
    TransferBySeller { remark: String },
}

/// The pay page of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayPage {
    pub order: OrderView,
    /// The methods this site offers (those configured).
    pub methods: Vec<String>,
    /// The method chosen, and what to do with it.
    pub method: Option<String>,
    pub action: Option<PayAction>,
}

fn method_name(m: &str) -> T {
    match m {
        "wechat" => T::pay_wechat,
        "alipay" => T::pay_alipay,
        _ => T::pay_transfer,
    }
}

/// `/orders/:id/pay`: choose a method; see the QR code, the link or the account to pay.
/// Complete without a script; with one, it follows the payment and moves on when it is paid.
#[component]
pub fn PayPage() -> impl IntoView {
    let id = crate::ui::use_id_param();
    let query = leptos_router::hooks::use_query_map();
    let page = Resource::new(
        move || (id(), query.with(|q| q.get("method"))),
        |(id, method)| api::start_payment(id, method),
    );
    view! {
        <section class="pay">
            <PageMeta title=T::pay_title description=T::meta_site private=true/>
            <h1>{tr(T::pay_title)}</h1>
            <Suspense fallback=|| ()>
                {move || page.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(p) => view! { <PayBody page=p/> }.into_any(),
                })}
            </Suspense>
            <p><a href="/orders">{tr(T::pay_back_to_orders)}</a></p>
        </section>
    }
}

#[component]
fn PayBody(page: PayPage) -> impl IntoView {
    let lang = use_lang();
    let order = page.order.clone();
    let id = order.id;
    let unpaid = order.status == "placed";
    let chosen = page.method.clone();
    let methods = page.methods.clone();
    let follows = unpaid && matches!(page.action, Some(PayAction::QrCode { .. }));
    // With a script: ask every three seconds whether the payment arrived.
    Effect::new(move |_| {
        if follows {
            follow_payment(id);
        }
    });
    view! {
        <p class="pay-summary">
            {tr(T::pay_order_no)} " " <strong>{format!("ZN{id}")}</strong> " · " {order.seller_name.clone()}
            " · " {tr(T::pay_amount)} " " <Money fen=order.total_fen/>
        </p>
        {if !unpaid {
            view! { <p class="notice" data-testid="pay-done">{tr(T::pay_not_needed)}</p> }.into_any()
        } else {
            view! {
                {order.expires_at.map(|t| view! {
                    <p class="muted">{tr(T::order_expires)} " " {crate::domain::calendar::date_time_of(t)}</p>
                })}
                {(page.methods.len() == 1).then(|| view! { <p class="muted" data-testid="transfer-only">{tr(T::pay_transfer_only)}</p> })}
                <nav class="pay-methods" aria-label=move || T::pay_choose.t(lang.get())>
                    {methods.into_iter().map(|m| {
                        let current = chosen.as_deref() == Some(m.as_str());
                        let href = format!("/orders/{id}/pay?method={m}");
                        let class = if current { "button primary" } else { "button" };
                        view! {
                            <a class=class href=href data-testid=format!("pay-{m}")
                               aria-current=if current { Some("page") } else { None }>
                                {tr(method_name(&m))}
                            </a>
                        }
                    }).collect_view()}
                </nav>
                {page.action.clone().map(|a| view! { <PayActionView action=a/> })}
            }.into_any()
        }}
    }
}

#[component]
fn PayActionView(action: PayAction) -> impl IntoView {
    match action {
        PayAction::QrCode { svg, open } => view! {
            <div class="pay-qr">
                <p>{tr(T::pay_scan)}</p>
                <div class="qr" role="img" aria-label=move || T::pay_qr_label.t(crate::i18n::use_lang().get()) inner_html=svg></div>
                {open.map(|u| view! { <p><a href=u rel="external" data-testid="pay-open">{tr(T::pay_open_fake)}</a></p> })}
                <p class="muted">{tr(T::pay_after)} " " <a href="">{tr(T::pay_refresh)}</a></p>
            </div>
        }.into_any(),
        PayAction::Redirect { url } => view! {
            <p><a class="button primary" href=url rel="external" data-testid="pay-open">{tr(T::pay_continue)}</a></p>
        }.into_any(),
        PayAction::Transfer { account_name, bank, account_no, remark } => view! {
            <dl class="pay-transfer">
                <dt>{tr(T::pay_account_name)}</dt><dd>{account_name}</dd>
                <dt>{tr(T::pay_bank)}</dt><dd>{bank}</dd>
                <dt>{tr(T::pay_account_no)}</dt><dd>{account_no}</dd>
                <dt>{tr(T::pay_remark)}</dt><dd><strong>{remark}</strong></dd>
            </dl>
            <p class="muted">{tr(T::pay_transfer_note)}</p>
        }.into_any(),
        PayAction::TransferBySeller { remark } => view! {
            <p>{tr(T::pay_transfer_by_seller)}</p>
            <p>{tr(T::pay_remark)} ": " <strong>{remark}</strong></p>
        }.into_any(),
    }
}

/// Asks the server whether the order is paid, every three seconds, and reloads the page when
/// it is (browser only).
#[allow(unused_variables)]
fn follow_payment(order_id: i64) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::prelude::*;
        leptos::task::spawn_local(async move {
            loop {
                gloo_sleep(3000).await;
                match api::payment_status(order_id).await {
                    Ok(s) if s != "placed" => {
                        if let Some(w) = web_sys::window() {
                            let _ = w.location().reload();
                        }
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        async fn gloo_sleep(ms: i32) {
            let p = js_sys::Promise::new(&mut |resolve, _| {
                if let Some(w) = web_sys::window() {
                    let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
                }
            });
            let _ = wasm_bindgen_futures::JsFuture::from(p).await;
        }
        let _ = JsValue::NULL;
    }
}
